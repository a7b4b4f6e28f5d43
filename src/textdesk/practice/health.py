"""The practice's health at a glance (H3): each line green, amber or red, with its fix.

The same lines feed `GET /api/v1/health` and `textdesk doctor`. A line is red when texts
cannot go out, amber when they go out late, cost more or need a look, green otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.connector import is_alive
from textdesk.domain.errors import NotFound
from textdesk.domain.reasons import CATALOGUE, FailureCause, describe_failure
from textdesk.domain.webhooks import EndpointStatus
from textdesk.integrations import service as integrations
from textdesk.messaging import connector_status, service as messaging
from textdesk.messaging.recipients import month_spend
from textdesk.practice.store import health as health_store
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Practice, SendingNumber
from textdesk.webhooks import service as webhooks

FAILURE_WINDOW = timedelta(days=7)
PENDING_AMBER_AFTER = timedelta(minutes=5)  # longer than a connector poll plus a retry or two
PENDING_RED_AFTER = timedelta(hours=1)
SPEND_AMBER_SHARE = Decimal("0.8")
FAILURE_AMBER_RATE = 0.02  # carriers start filtering senders around a few percent of failures
FAILURE_RED_RATE = 0.10
# Refusals that say the practice, not the patient, needs fixing.
PRACTICE_SIDE_CODES = ("sms_not_enabled", "messaging_not_approved", "no_sending_number",
                       "spending_limit_reached")


class Light(StrEnum):
    GREEN = "green"  # fine
    AMBER = "amber"  # texts go out, but late, dearer, or something needs a look
    RED = "red"  # texts cannot go out until someone acts


_ORDER = {Light.GREEN: 0, Light.AMBER: 1, Light.RED: 2}


@dataclass(frozen=True)
class Line:
    check: str
    status: Light
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status.value, "message": self.message,
                "fix": self.fix}


@dataclass(frozen=True)
class Health:
    lines: list[Line]
    checked_at: datetime

    @property
    def status(self) -> Light:
        return max((line.status for line in self.lines), key=_ORDER.__getitem__,
                   default=Light.GREEN)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "checked_at": self.checked_at.isoformat(),
                "checks": [line.as_dict() for line in self.lines]}


def health(session: Session, practice_id: int, now: datetime) -> Health:
    practice = practice_store.get_practice(session, practice_id)
    if practice is None:
        raise NotFound("practice_not_found", "No such practice.")
    lines = [_sms_enabled(practice)]
    lines += _numbers(session, practice)
    lines += [_connector(session, now), _connector_errors(session, practice.id),
              _pending(session, practice.id, now)]
    lines += _spend(session, practice, now)
    lines += [_failures(session, practice.id, now), _refusals(session, practice.id, now)]
    lines += [_practice_system(state, now) for state in integrations.states(session, practice.id,
                                                                            now)]
    lines += [_webhook(state, now) for state in webhooks.states(session, practice.id)]
    return Health(lines, now)


def _webhook(state: webhooks.EndpointState, now: datetime) -> Line:
    """Amber, never red: texting goes on while an integration's receiver is down."""
    name = f"Event webhook endpoint {state.id} ({state.url})"
    waiting = f"{_plural(state.waiting, 'event')} waiting"
    if state.status is EndpointStatus.DISABLED:
        since = (f" for {_age(now - state.failing_since)}" if state.failing_since else "")
        return Line("webhooks", Light.AMBER,
                    f"{name} is turned off: its deliveries failed{since} "
                    f"(last: {state.last_error or 'failed'}); {waiting}.", state.fix)
    if state.failing_since is not None:
        return Line("webhooks", Light.AMBER,
                    f"{name} is failing for {_age(now - state.failing_since)} "
                    f"(last: {state.last_error or 'failed'}); {waiting}. After a day of "
                    f"failures it is turned off.",
                    "Fix the receiver: it must answer 2xx within 5 s. Deliveries are retried "
                    "on their own meanwhile.")
    return Line("webhooks", Light.GREEN, f"{name} receives its events ({waiting}).",
                "Nothing to do.")


def _practice_system(state: integrations.SyncState, now: datetime) -> Line:
    """Amber, never red: texting goes on while the practice system is out of reach."""
    name = integrations.SYSTEMS.get(state.system, state.system)
    last = (f"last synced {_age(now - state.last_sync_at)} ago" if state.last_sync_at
            else "not synced yet")
    if state.error_kind:
        return Line("practice_system", Light.AMBER,
                    f"{name} sync is failing ({last}): {state.error_message}", state.fix or "")
    if state.write_back_behind:
        return Line("practice_system", Light.AMBER,
                    f"{name}: {_plural(state.write_back_waiting, 'item')} waiting to be "
                    f"written back ({last}).", state.behind_fix)
    if state.write_back_failed:
        return Line("practice_system", Light.AMBER,
                    f"{name} refused {_plural(state.write_back_failed, 'write-back item')} "
                    f"({last}).", state.refused_fix)
    return Line("practice_system", Light.GREEN, f"{name} is connected, {last}.",
                "Nothing to do.")


def _sms_enabled(practice: Practice) -> Line:
    if practice.sms_enabled:
        return Line("sms_enabled", Light.GREEN, "Texting is enabled.", "Nothing to do.")
    spec = CATALOGUE["sms_not_enabled"]
    return Line("sms_enabled", Light.RED, spec.message, spec.fix)


def _numbers(session: Session, practice: Practice) -> list[Line]:
    lines: list[Line] = []
    numbers = practice_store.list_numbers(session, practice.id)
    for clinic in practice_store.list_clinics(session, practice.id):
        if not any(n.clinic_id == clinic.id for n in numbers):
            spec = CATALOGUE["no_sending_number"]
            lines.append(Line("sending_number", Light.RED,
                              f"Clinic {clinic.name!r} has no sending number.", spec.fix))
    for number in numbers:
        lines.append(_registration(number))
        lines.append(_verification(number))
    if not lines:
        lines.append(Line("sending_number", Light.RED, "The practice has no clinic yet.",
                          "Add a clinic and its sending number."))
    return lines


def _registration(number: SendingNumber) -> Line:
    name = f"{number.kind.replace('_', ' ')} number {number.e164}"
    status = number.registration_status
    if status == "approved":
        return Line("registration", Light.GREEN, f"The {name} is registered (approved).",
                    "Nothing to do.")
    fix = CATALOGUE["messaging_not_approved"].fix
    if status == "pending":
        return Line("registration", Light.AMBER,
                    f"The {name} is waiting for its messaging registration; texts from it are "
                    f"refused until it is approved.", "Wait for the carrier's approval, or "
                    "check the registration with the operator.")
    return Line("registration", Light.RED,
                f"The {name} has no approved messaging registration (registration is {status}).",
                fix)


def _verification(number: SendingNumber) -> Line:
    name = f"{number.kind.replace('_', ' ')} number {number.e164}"
    if number.status == "active":
        return Line("verification", Light.GREEN, f"The {name} is verified.", "Nothing to do.")
    spec = CATALOGUE["number_pending_verification"]
    return Line("verification", Light.AMBER,
                f"The {name} is waiting for verification; its texts are held until the "
                f"operator confirms it.", spec.fix)


def _connector(session: Session, now: datetime) -> Line:
    last = connector_status.last_heartbeat(session)
    fix = CATALOGUE["connector_down"].fix
    if last is None:
        return Line("connector", Light.RED, "No connector has ever run; texts wait.", fix)
    age = now - last
    if is_alive(last, now):
        return Line("connector", Light.GREEN,
                    f"The connector is working (last heartbeat {_age(age)} ago).",
                    "Nothing to do.")
    return Line("connector", Light.RED,
                f"The connector is down: no heartbeat for {_age(age)}; texts wait.", fix)


def _connector_errors(session: Session, practice_id: int) -> Line:
    count = connector_status.unacknowledged_count(session, practice_id)
    if not count:
        return Line("connector_errors", Light.GREEN, "No connector error waits for a look.",
                    "Nothing to do.")
    return Line("connector_errors", Light.AMBER,
                f"{_plural(count, 'connector error')} not acknowledged.",
                "Read them on the Connector page and acknowledge each.")


def _pending(session: Session, practice_id: int, now: datetime) -> Line:
    queue = health_store.waiting(session, practice_id)
    if not queue.count or queue.oldest_created_at is None:
        return Line("pending", Light.GREEN, "No text is waiting to go out.", "Nothing to do.")
    age = now - queue.oldest_created_at
    light = (Light.RED if age >= PENDING_RED_AFTER else
             Light.AMBER if age >= PENDING_AMBER_AFTER else Light.GREEN)
    return Line("pending", light,
                f"{_plural(queue.count, 'text')} waiting to go out; the oldest for {_age(age)}.",
                "Nothing to do." if light is Light.GREEN else
                f"See what holds the oldest (GET /api/v1/messages/{queue.oldest_id}).")


def _spend(session: Session, practice: Practice, now: datetime) -> list[Line]:
    lines = []
    for clinic in practice_store.list_clinics(session, practice.id):
        spent = month_spend(session, practice.id, clinic.id, now)
        limit = clinic.monthly_limit_usd
        if limit is None:
            lines.append(Line("spend", Light.GREEN,
                              f"Clinic {clinic.name!r} spent ${spent:.2f} this month; it has no "
                              f"monthly limit.", "Nothing to do."))
            continue
        said = f"Clinic {clinic.name!r} spent ${spent:.2f} of its ${limit:.2f} monthly limit"
        if spent >= limit:
            spec = CATALOGUE["spending_limit_reached"]
            lines.append(Line("spend", Light.RED, said + "; manual texts are paused.", spec.fix))
        elif limit and spent >= limit * SPEND_AMBER_SHARE:
            lines.append(Line("spend", Light.AMBER, said + f" ({spent / limit:.0%}).",
                              "Raise the clinic's monthly limit before manual texts pause."))
        else:
            lines.append(Line("spend", Light.GREEN, said + ".", "Nothing to do."))
    return lines


def _failures(session: Session, practice_id: int, now: datetime) -> Line:
    since = now - FAILURE_WINDOW
    outcomes = health_store.outcome_counts(session, practice_id, since)
    total = sum(outcomes.values())
    causes = health_store.failure_causes(session, practice_id, since)
    failed = sum(causes.values())
    if not total or not failed:
        return Line("failure_rate", Light.GREEN,
                    f"No text failed in the last 7 days ({_plural(total, 'text')} sent).",
                    "Nothing to do.")
    rate = failed / total
    light = (Light.RED if rate >= FAILURE_RED_RATE else
             Light.AMBER if rate >= FAILURE_AMBER_RATE else Light.GREEN)
    by_cause = ", ".join(f"{cause} {n}" for cause, n in causes.items())
    top = next(iter(causes))
    known = {cause.value for cause in FailureCause}
    top_fix = describe_failure(FailureCause(top if top in known else "unknown"))[1]
    return Line("failure_rate", light,
                f"{failed} of {_plural(total, 'text')} failed in the last 7 days ({rate:.1%}): "
                f"{by_cause}.", f"Most failures are {top}: {top_fix}")


def _refusals(session: Session, practice_id: int, now: datetime) -> Line:
    counts = messaging.refusal_counts(session, practice_id, now - FAILURE_WINDOW)
    if not counts:
        return Line("refused_sends", Light.GREEN, "No text was refused in the last 7 days.",
                    "Nothing to do.")
    by_code = ", ".join(f"{code} {n}" for code, n in counts.items())
    practice_side = [code for code in counts if code in PRACTICE_SIDE_CODES]
    if practice_side:
        return Line("refused_sends", Light.AMBER,
                    f"Texts were refused in the last 7 days: {by_code}.",
                    CATALOGUE[practice_side[0]].fix)
    return Line("refused_sends", Light.GREEN,
                f"Texts were refused in the last 7 days for reasons of the patient: {by_code}.",
                "Nothing to do for the practice: each patient's page says what to fix.")


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _age(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
