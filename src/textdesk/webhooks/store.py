"""Every query of the webhooks feature: endpoints, the delivery outbox, its claim and leases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from textdesk.domain.webhooks import DeliveryStatus, EndpointStatus
from textdesk.storage.db import is_postgres_session
from textdesk.storage.models import WebhookDelivery, WebhookEndpoint

_CACHE_KEY = "webhook_endpoints"


# --- endpoints -------------------------------------------------------------------------------

def add_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    session.add(endpoint)
    session.flush()
    session.info.pop(_CACHE_KEY, None)


def endpoints(session: Session, practice_id: int) -> list[WebhookEndpoint]:
    return list(session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.practice_id == practice_id).order_by(WebhookEndpoint.id)))


def endpoint_count(session: Session, practice_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(WebhookEndpoint).where(
        WebhookEndpoint.practice_id == practice_id)) or 0)


def get_endpoint(session: Session, practice_id: int, endpoint_id: int,
                 *, lock: bool = False) -> WebhookEndpoint | None:
    query = select(WebhookEndpoint).where(WebhookEndpoint.practice_id == practice_id,
                                          WebhookEndpoint.id == endpoint_id)
    return session.scalar(query.with_for_update() if lock else query)


def enabled_endpoints(session: Session, practice_id: int) -> list[WebhookEndpoint]:
    """The practice's enabled endpoints, read once per transaction (a text's every status
    change asks; a campaign's fan-out or a STOP's cancellations ask many times)."""
    cache: dict[int, list[WebhookEndpoint]] = session.info.setdefault(_CACHE_KEY, {})
    if practice_id not in cache:
        cache[practice_id] = list(session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.practice_id == practice_id,
            WebhookEndpoint.status == EndpointStatus.ENABLED.value)))
    return cache[practice_id]


def forget_enabled(session: Session) -> None:
    """An endpoint was turned on or off in this transaction: read them again when asked."""
    session.info.pop(_CACHE_KEY, None)


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    session.delete(endpoint)
    session.flush()
    session.info.pop(_CACHE_KEY, None)


def endpoints_by_id(session: Session, ids: Sequence[int]) -> dict[int, WebhookEndpoint]:
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.id.in_(sorted(set(ids)))))}


def note_success(session: Session, endpoint_id: int, now: datetime) -> None:
    session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(
        consecutive_failures=0, failing_since=None, last_error=None, last_delivered_at=now,
        updated_at=now))


def note_failure(session: Session, endpoint_id: int, error: str,
                 now: datetime) -> WebhookEndpoint | None:
    """Count one more failed attempt in one statement (two connectors may fail at once)."""
    session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(
        consecutive_failures=WebhookEndpoint.consecutive_failures + 1,
        failing_since=func.coalesce(WebhookEndpoint.failing_since, now),
        last_error=error[:300], updated_at=now).execution_options(synchronize_session=False))
    return session.get(WebhookEndpoint, endpoint_id, populate_existing=True)


def disable(session: Session, endpoint_id: int, now: datetime) -> bool:
    """Turn the endpoint off unless another writer already did; True if this call did."""
    result = session.execute(update(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id,
        WebhookEndpoint.status == EndpointStatus.ENABLED.value).values(
        status=EndpointStatus.DISABLED.value, disabled_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    forget_enabled(session)
    return _changed(result) == 1


# --- deliveries ------------------------------------------------------------------------------

def add_delivery(session: Session, delivery: WebhookDelivery) -> None:
    session.add(delivery)


def deliveries(session: Session, endpoint_id: int, *, status: str | None, before_id: int | None,
               limit: int) -> list[WebhookDelivery]:
    """An endpoint's delivery log, newest first; page on with `before_id`."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def get_delivery(session: Session, endpoint_id: int, delivery_id: int) -> WebhookDelivery | None:
    return session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id == delivery_id)
        .with_for_update())


def claim_due(session: Session, owner: str, now: datetime, lease_until: datetime,
              limit: int) -> list[WebhookDelivery]:
    """Take due deliveries of enabled endpoints under a lease, in one statement.

    Due: pending, its next attempt has come, and nobody holds a live lease on it — a lease
    that ran out (a connector killed mid-attempt) makes the delivery due again, so no event is
    lost. On PostgreSQL the rows are picked in a materialized CTE with SKIP LOCKED (decision
    0042: the only form whose LIMIT bounds a claim made by two connectors at once).
    """
    due = (select(WebhookDelivery.id)
           .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
           .where(WebhookDelivery.status == DeliveryStatus.PENDING.value,
                  WebhookDelivery.next_attempt_at <= now,
                  or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
                  WebhookEndpoint.status == EndpointStatus.ENABLED.value)
           .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
           .limit(limit))
    if is_postgres_session(session):
        picked = (due.with_for_update(skip_locked=True, of=WebhookDelivery)
                  .cte("due").prefix_with("MATERIALIZED"))
        chosen = WebhookDelivery.id == picked.c.id
    else:
        chosen = WebhookDelivery.id.in_(due.scalar_subquery())
    stmt = (update(WebhookDelivery)
            .where(chosen, WebhookDelivery.status == DeliveryStatus.PENDING.value)
            .values(lease_until=lease_until, claimed_by=owner,
                    attempts=WebhookDelivery.attempts + 1, last_attempt_at=now)
            .returning(WebhookDelivery)
            .execution_options(synchronize_session=False))
    return list(session.scalars(stmt))


def settle(session: Session, delivery_id: int, owner: str, **values: object) -> bool:
    """Write an attempt's outcome, only if the attempt still holds the delivery (a replay, an
    expired lease taken by another connector, or a deleted endpoint make it no longer so)."""
    result = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id, WebhookDelivery.claimed_by == owner,
        WebhookDelivery.status == DeliveryStatus.PENDING.value)
        .values(lease_until=None, claimed_by=None, **values)
        .execution_options(synchronize_session=False))
    return _changed(result) == 1


def settle_delivered(session: Session, ids: Sequence[int], owner: str, status_code: int,
                     now: datetime) -> list[int]:
    """`settle` for many deliveries of one claim that answered alike, in one statement;
    returns the endpoints of those still held (one row each)."""
    return list(session.scalars(update(WebhookDelivery).where(
        WebhookDelivery.id.in_(sorted(ids)), WebhookDelivery.claimed_by == owner,
        WebhookDelivery.status == DeliveryStatus.PENDING.value)
        .values(lease_until=None, claimed_by=None, status=DeliveryStatus.DELIVERED.value,
                delivered_at=now, last_status_code=status_code, last_error=None)
        .returning(WebhookDelivery.endpoint_id)
        .execution_options(synchronize_session=False)))


def requeue(delivery: WebhookDelivery, now: datetime) -> None:
    """A fresh schedule from now (a replay): whoever attempts it at this moment lets go."""
    delivery.status = DeliveryStatus.PENDING.value
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.lease_until = None
    delivery.claimed_by = None
    delivery.delivered_at = None


def requeue_after_failing(session: Session, endpoint_id: int, failing_since: datetime | None,
                          now: datetime) -> int:
    """On re-enabling: what waited, and what gave up while the receiver was failing, is due."""
    waiting = [WebhookDelivery.status == DeliveryStatus.PENDING.value]
    if failing_since is not None:
        waiting.append(and_(WebhookDelivery.status == DeliveryStatus.FAILED.value,
                            WebhookDelivery.last_attempt_at >= failing_since))
    result = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id, or_(*waiting))
        .values(status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now,
                lease_until=None, claimed_by=None)
        .execution_options(synchronize_session=False))
    return _changed(result)


def waiting_count(session: Session, endpoint_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.status == DeliveryStatus.PENDING.value)) or 0)


def purge_finished(session: Session, before: datetime, limit: int) -> int:
    """Forget finished deliveries (their payloads may hold bodies) once they are old."""
    old = (select(WebhookDelivery.id).where(
        WebhookDelivery.status.in_((DeliveryStatus.DELIVERED.value,
                                    DeliveryStatus.FAILED.value)),
        WebhookDelivery.created_at < before).limit(limit))
    result = session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.id.in_(old.scalar_subquery()))
        .execution_options(synchronize_session=False))
    return _changed(result)


def _changed(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
