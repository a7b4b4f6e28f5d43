"""Webhook endpoint use cases: subscribe (the secret is shown once), list, remove, re-enable,
the delivery log and its replay, and each endpoint's state for the practice's Health page."""

from __future__ import annotations

import base64
import secrets as random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.domain.errors import Conflict, Invalid, NotFound
from textdesk.domain.webhooks import (
    MAX_ENDPOINTS_PER_PRACTICE,
    DeliveryStatus,
    EndpointStatus,
    check_url,
    parse_events,
)
from textdesk.integrations import secrets
from textdesk.storage.models import WebhookDelivery, WebhookEndpoint
from textdesk.webhooks import store
from textdesk.webhooks.delivery import SECRET_CONTEXT

SECRET_BYTES = 32
ENABLE_FIX = ("Fix the receiver at {url} (it must answer 2xx, within 5 s by default), then turn "
              "the endpoint back on in Settings → Event webhooks (or POST "
              "/api/v1/webhook-endpoints/{id}/enable). The events that "
              "waited are delivered then.")


def create(session: Session, practice_id: int, url: str, events: Sequence[object],
           include_bodies: bool, secret_key: str | None,
           now: datetime) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (`whsec_` + base64), returned this once only."""
    checked = check_url(url)
    chosen = parse_events(events)
    if store.endpoint_count(session, practice_id) >= MAX_ENDPOINTS_PER_PRACTICE:
        raise Conflict("webhook_endpoint_limit",
                       f"A practice has at most {MAX_ENDPOINTS_PER_PRACTICE} webhook endpoints.",
                       fix="Delete one you no longer use.")
    secret = "whsec_" + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()
    endpoint = WebhookEndpoint(
        practice_id=practice_id, url=checked, events=[e.value for e in chosen],
        include_bodies=include_bodies,
        secret_sealed=secrets.seal(secret_key, secret, SECRET_CONTEXT),
        status=EndpointStatus.ENABLED.value, consecutive_failures=0, created_at=now,
        updated_at=now)
    store.add_endpoint(session, endpoint)
    return endpoint, secret


def endpoints(session: Session, practice_id: int) -> list[WebhookEndpoint]:
    return store.endpoints(session, practice_id)


def get(session: Session, practice_id: int, endpoint_id: int, *,
        lock: bool = False) -> WebhookEndpoint:
    endpoint = store.get_endpoint(session, practice_id, endpoint_id, lock=lock)
    if endpoint is None:
        raise NotFound("webhook_endpoint_not_found", "No such webhook endpoint.")
    return endpoint


def delete(session: Session, practice_id: int, endpoint_id: int) -> None:
    """The endpoint and its delivery log go; nothing more is sent to it."""
    store.delete_endpoint(session, get(session, practice_id, endpoint_id, lock=True))


def enable(session: Session, practice_id: int, endpoint_id: int, now: datetime) -> int:
    """Turn a disabled endpoint back on; what waited, or gave up while it was failing, is sent
    again at once. Returns how many deliveries were queued (0 for an endpoint already on)."""
    endpoint = get(session, practice_id, endpoint_id, lock=True)
    if endpoint.status == EndpointStatus.ENABLED:
        return 0
    queued = store.requeue_after_failing(session, endpoint.id, endpoint.failing_since, now)
    endpoint.status = EndpointStatus.ENABLED.value
    endpoint.consecutive_failures = 0
    endpoint.failing_since = None
    endpoint.disabled_at = None
    endpoint.updated_at = now
    store.forget_enabled(session)
    return queued


def deliveries(session: Session, practice_id: int, endpoint_id: int, *, status: str | None,
               before_id: int | None, limit: int) -> list[WebhookDelivery]:
    endpoint = get(session, practice_id, endpoint_id)
    if status is not None and status not in {s.value for s in DeliveryStatus}:
        raise Invalid("invalid_delivery_status", f"Unknown delivery status {status!r}.",
                       statuses=[s.value for s in DeliveryStatus])
    return store.deliveries(session, endpoint.id, status=status, before_id=before_id,
                            limit=limit)


def replay(session: Session, practice_id: int, endpoint_id: int, delivery_id: int,
           now: datetime) -> WebhookDelivery:
    """Send the delivery again now, the same body under the same `webhook-id` (a receiver
    that already has it recognises it), with a fresh retry schedule."""
    endpoint = get(session, practice_id, endpoint_id)
    delivery = store.get_delivery(session, endpoint.id, delivery_id)
    if delivery is None:
        raise NotFound("webhook_delivery_not_found", "No such delivery for this endpoint.")
    if endpoint.status != EndpointStatus.ENABLED:
        raise Conflict("webhook_endpoint_disabled", "The endpoint is turned off.",
                       fix=ENABLE_FIX.format(url=endpoint.url, id=endpoint.id))
    store.requeue(delivery, now)
    return delivery


@dataclass(frozen=True)
class EndpointState:
    """One endpoint as the Health page tells it."""

    id: int
    url: str
    status: EndpointStatus
    failing_since: datetime | None
    consecutive_failures: int
    last_error: str | None
    disabled_at: datetime | None
    waiting: int

    @property
    def fix(self) -> str:
        return ENABLE_FIX.format(url=self.url, id=self.id)


def states(session: Session, practice_id: int) -> list[EndpointState]:
    return [EndpointState(e.id, e.url, EndpointStatus(e.status), e.failing_since,
                          e.consecutive_failures, e.last_error, e.disabled_at,
                          store.waiting_count(session, e.id))
            for e in store.endpoints(session, practice_id)]
