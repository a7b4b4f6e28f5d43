"""The event outbox: `emit` queues one delivery per subscribed, enabled endpoint, in the caller's
transaction — the event exists exactly when the change that caused it commits.

Features call it where their change happens (a text received, a text's status, a consent
event, an appointment confirmed, a lead's stage). `data` carries ids and statuses only;
`private` carries what identifies or quotes a person (a text's body, a phone, a free-text
reason) and goes only to endpoints created with `include_bodies`. Either may be a function,
called only when some endpoint subscribes, so an unsubscribed practice pays one cached query.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.webhooks import DeliveryStatus, EventType
from textdesk.storage.models import WebhookDelivery
from textdesk.webhooks import store

Fields = Mapping[str, Any] | Callable[[], Mapping[str, Any]]


def emit(session: Session, practice_id: int, event_type: EventType, data: Fields,
         now: datetime, *, private: Fields | None = None) -> str | None:
    """Queue the event for each endpoint that subscribes to it; its id, or None if none does."""
    subscribed = [e for e in store.enabled_endpoints(session, practice_id)
                  if event_type.value in e.events]
    if not subscribed:
        return None
    event_id = f"evt_{uuid.uuid4().hex}"
    public = dict(data() if callable(data) else data)
    hidden = dict((private() if callable(private) else private) or {})
    envelope = {"type": event_type.value, "timestamp": moment(now)}
    for endpoint in subscribed:
        body = {**envelope, "data": {**public, **hidden} if endpoint.include_bodies else public}
        store.add_delivery(session, WebhookDelivery(
            practice_id=practice_id, endpoint_id=endpoint.id, event_id=event_id,
            event_type=event_type.value, payload=json.dumps(body, separators=(",", ":")),
            status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now,
            created_at=now))
    return event_id


def moment(value: datetime | None) -> str | None:
    """A time as the events write it: ISO 8601 in UTC with a Z."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
