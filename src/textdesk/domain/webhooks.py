"""Event webhook rules: the event names, an endpoint's and a delivery's lifecycle, the retry
schedule, when a failing endpoint is turned off, and what makes a receiver URL acceptable.

```
endpoint:  enabled ─(a day of failed attempts)─► disabled ─(staff: enable)─► enabled
delivery:  pending ─(2xx)──────────────────────► delivered
              │ ▲
              │ └─(attempt failed, tries left: next_attempt_at = now + RETRY_DELAYS[n])
              └─(attempt failed, none left)────► failed ─(replay, or re-enabling)─► pending
```
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from textdesk.domain.errors import Invalid, Unprocessable
from textdesk.domain.messages import Status


class EventType(StrEnum):
    MESSAGE_RECEIVED = "message.received"  # a patient or lead texted the practice
    MESSAGE_STATUS_CHANGED = "message.status_changed"  # a text was sent, delivered, failed…
    CONSENT_CHANGED = "consent.changed"  # an opt-in or opt-out was recorded for a phone
    APPOINTMENT_CONFIRMED = "appointment.confirmed"  # an appointment became confirmed
    LEAD_STAGE_CHANGED = "lead.stage_changed"  # a lead moved from one stage to another


class EndpointStatus(StrEnum):
    ENABLED = "enabled"  # receives new events, its deliveries are attempted
    DISABLED = "disabled"  # turned off after a day of failures; its waiting deliveries wait


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt, or being attempted under a lease
    DELIVERED = "delivered"  # the receiver answered 2xx (terminal until replayed)
    FAILED = "failed"  # every attempt failed; given up (replay or re-enabling queues it again)


# The delay after the n-th failed attempt (Standard Webhooks' reference schedule): eight
# attempts spread over 27 h 35 min, so a receiver down for a whole day still gets everything.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
    timedelta(hours=5), timedelta(hours=10), timedelta(hours=10))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# An endpoint whose attempts have all failed for this long (and at least this many of them)
# is turned off: nothing new is queued for it until staff fix the receiver and enable it.
DISABLE_AFTER = timedelta(hours=24)
DISABLE_MIN_FAILURES = 5
MAX_URL_LENGTH = 2000
MAX_ENDPOINTS_PER_PRACTICE = 20

# The statuses a text's `message.status_changed` announces: what happened to it at the carrier
# or why it never left. `sending` and the returns to `pending` are the queue's own business.
ANNOUNCED_STATUSES = frozenset({Status.SENT, Status.DELIVERED, Status.UNDELIVERED,
                                Status.FAILED, Status.CANCELED})


def is_announced(status: Status | str) -> bool:
    return Status(status) in ANNOUNCED_STATUSES


def retry_delay(attempts: int) -> timedelta | None:
    """How long after the `attempts`-th failed attempt the next one is made; None: give up."""
    if attempts < 1 or attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[attempts - 1]


def should_disable(consecutive_failures: int, failing_since: datetime | None,
                   now: datetime) -> bool:
    """A day of nothing but failures (and enough of them to be sure) turns an endpoint off."""
    return (failing_since is not None and consecutive_failures >= DISABLE_MIN_FAILURES
            and now - failing_since >= DISABLE_AFTER)


def is_success(status_code: int | None) -> bool:
    """Only a 2xx answer is a delivery; a redirect is not followed and counts as a failure."""
    return status_code is not None and 200 <= status_code < 300


def check_url(value: str) -> str:
    """The receiver's URL as given, or Invalid `invalid_webhook_url` saying what is wrong."""
    url = value.strip()
    problem = _url_problem(url)
    if problem:
        raise Invalid("invalid_webhook_url", f"The webhook URL {problem}.", field="url")
    return url


def _url_problem(url: str) -> str | None:
    if not url:
        return "is empty"
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if any(c.isspace() or ord(c) < 32 for c in url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "cannot be read"
    if parts.scheme not in ("http", "https"):
        return "must start with https:// (or http://)"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password (receivers check the signature instead)"
    if parts.fragment:
        return "must not have a #fragment"
    if port == 0:
        return "has port 0"
    return None


def parse_events(names: Iterable[object]) -> list[EventType]:
    """The subscribed event types, each once, in the order given; an unknown name is refused."""
    known = {e.value: e for e in EventType}
    chosen: list[EventType] = []
    for name in names:
        event = known.get(name) if isinstance(name, str) else None
        if event is None:
            raise Unprocessable("unknown_webhook_event", f"Unknown event {name!r}.",
                                field="events", events=[e.value for e in EventType])
        if event not in chosen:
            chosen.append(event)
    if not chosen:
        raise Unprocessable("no_webhook_events", "Subscribe to at least one event.",
                            field="events", events=[e.value for e in EventType])
    return chosen
