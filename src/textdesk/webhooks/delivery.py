"""The connector's delivery pass: claim due deliveries under a lease, POST them, record each.

Each claim, and each outcome, is its own transaction; the POST happens between them, outside
any. A connector killed mid-attempt leaves the delivery claimed until its lease runs out, then
any connector attempts it again under the same `webhook-id` — nothing is lost, and a receiver
that had taken the first attempt (its answer lost) recognises the repeat by that id.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from textdesk.domain.errors import Conflict
from textdesk.domain.webhooks import (
    DeliveryStatus,
    EndpointStatus,
    is_success,
    retry_delay,
    should_disable,
)
from textdesk.integrations import secrets
from textdesk.storage.db import Database
from textdesk.storage.models import WebhookDelivery, WebhookEndpoint
from textdesk.webhooks import store
from textdesk.webhooks.sender import Attempt, Outcome, Sender

log = logging.getLogger(__name__)

SECRET_CONTEXT = b"textdesk webhook signing secrets v1"
LEASE = timedelta(seconds=60)  # far past one attempt: the timeout, plus recording it
BATCH = 32  # at most 4 rounds of the timeout per claim: far inside the lease
WORKERS = 8
PASS_SECONDS = 10.0  # a pass keeps claiming while batches come full, for at most this long
KEEP_FINISHED = timedelta(days=30)
PURGE_BATCH = 1000


class Deliverer:
    """The webhooks job of the connector's scheduler: `run(db, now)` is one pass."""

    def __init__(self, sender: Sender, secret_key: str | None) -> None:
        self.sender = sender
        self.secret_key = secret_key
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="webhook")

    def run(self, db: Database, now: datetime) -> int:
        done, started = 0, time.monotonic()
        while time.monotonic() - started < PASS_SECONDS:
            attempts = self.claim(db, now)
            waiting = {self._pool.submit(self.sender.post, a): a for a in attempts}
            while waiting:  # what has answered is recorded at once, together
                answered, _ = wait(waiting, return_when=FIRST_COMPLETED)
                with db.transaction() as session:
                    record_all(session, [(waiting.pop(f), f.result()) for f in answered], now)
            done += len(attempts)
            if len(attempts) < BATCH:
                break
        return done

    def claim(self, db: Database, now: datetime) -> list[Attempt]:
        owner = uuid.uuid4().hex
        with db.transaction() as session:
            claimed = store.claim_due(session, owner, now, now + LEASE, BATCH)
            endpoints = store.endpoints_by_id(session, [d.endpoint_id for d in claimed])
            return [self._attempt(d, endpoints[d.endpoint_id], owner) for d in claimed]

    def _attempt(self, delivery: WebhookDelivery, endpoint: WebhookEndpoint,
                 owner: str) -> Attempt:
        try:
            secret: str | None = secrets.unseal(self.secret_key, endpoint.secret_sealed,
                                                SECRET_CONTEXT)
        except Conflict:
            secret = None
        return Attempt(delivery.id, owner, endpoint.id, endpoint.url, secret, delivery.event_id,
                       delivery.payload, delivery.attempts)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.sender.close()


def record_all(session: Session, results: list[tuple[Attempt, Outcome]], now: datetime) -> None:
    """Write attempts' outcomes: the deliveries of a claim that succeeded alike in one
    statement (the common case), each failure on its own."""
    succeeded: dict[tuple[str, int], list[int]] = defaultdict(list)
    for attempt, outcome in results:
        if is_success(outcome.status_code) and outcome.status_code is not None:
            succeeded[(attempt.owner, outcome.status_code)].append(attempt.delivery_id)
        else:
            record(session, attempt, outcome, now)
    for (owner, code), ids in succeeded.items():
        for endpoint_id in set(store.settle_delivered(session, ids, owner, code, now)):
            store.note_success(session, endpoint_id, now)


def record(session: Session, attempt: Attempt, outcome: Outcome, now: datetime) -> str:
    """Write one attempt's outcome and what it means for its endpoint."""
    if is_success(outcome.status_code):
        if not store.settle(session, attempt.delivery_id, attempt.owner,
                            status=DeliveryStatus.DELIVERED.value, delivered_at=now,
                            last_status_code=outcome.status_code, last_error=None):
            return "superseded"
        store.note_success(session, attempt.endpoint_id, now)
        return "delivered"
    delay = retry_delay(attempt.attempts)
    error = outcome.error or "failed"
    changes: dict[str, object] = {"last_status_code": outcome.status_code, "last_error": error}
    if delay is None:
        changes["status"] = DeliveryStatus.FAILED.value
    else:
        changes["next_attempt_at"] = now + delay
    if not store.settle(session, attempt.delivery_id, attempt.owner, **changes):
        return "superseded"
    endpoint = store.note_failure(session, attempt.endpoint_id, error, now)
    if (endpoint is not None and endpoint.status == EndpointStatus.ENABLED
            and should_disable(endpoint.consecutive_failures, endpoint.failing_since, now)
            and store.disable(session, endpoint.id, now)):
        log.warning("webhook endpoint %s disabled: its deliveries failed for a day "
                    "(%d attempts in a row)", endpoint.id, endpoint.consecutive_failures)
    return "gave_up" if delay is None else "retry"


def purge(db: Database, now: datetime) -> int:
    """The scheduler's clean-up: finished deliveries older than 30 days are forgotten."""
    with db.transaction() as session:
        return store.purge_finished(session, now - KEEP_FINISHED, PURGE_BATCH)
