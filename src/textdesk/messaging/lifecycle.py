"""The one owner of a message's status: every change is a step of the transition table in
`domain.messages`, checked here and written to the message's history in the same call — and,
for the statuses integrations are told of, announced as `message.status_changed` (an event
webhook queued in the same transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.domain.messages import (
    MOVES,
    Status,
    Step,
    can_take,
    status_from_carrier,
    step_reported,
)
from textdesk.domain.reasons import cause_for_error
from textdesk.messaging.store import messages as message_store
from textdesk.storage.models import Message, MessageEvent
from textdesk.webhooks import events as webhook_events

_ENDS_WITH_ERROR = frozenset({Step.FAIL, Step.UNDELIVER})
_ENDS_UNSENT = frozenset({Step.CANCEL, Step.WITHDRAW})


def queued(session: Session, message: Message, now: datetime, source: str) -> None:
    """The first history entry of a text just written `pending`."""
    message_store.add_event(session, message, Status.PENDING.value, source, now)


def queued_many(session: Session, message_ids: Sequence[int], now: datetime, source: str) -> None:
    """`queued` for texts written in bulk `pending` (by `insert_outbound`)."""
    message_store.add_events(session, [
        {"message_id": mid, "carrier_sid": None, "status": Status.PENDING.value,
         "source": source, "step": None, "note": None, "error_code": None, "applied": True,
         "at": now} for mid in message_ids])


def take(session: Session, message: Message, step: Step, now: datetime, *, source: str,
         error_code: int | None = None, reason: str | None = None,
         note: str | None = None) -> bool:
    """Take `step` if the table allows it from the message's status, and record it.

    `reason` is the cancel code of a cancel or withdraw; `note` says more in the history
    (which attempt a retry is). False, and nothing written, when the step is not allowed.
    """
    if not can_take(step, Status(message.status)):
        return False
    previous = message.status
    _apply(session, message, step, now, error_code, reason)
    message_store.add_event(session, message, message.status, source, now, error_code,
                            step=step.value, note=note)
    webhook_events.message_status_changed(session, message, previous, now)
    return True


def report(session: Session, message: Message, word: str, now: datetime, *, source: str,
           error_code: int | None = None) -> bool:
    """The carrier reports a status in its own word: applied when the table allows the step
    it stands for; kept in the history either way (late and duplicate reports included)."""
    step = _step_for_word(word)
    applied = step is not None and can_take(step, Status(message.status))
    previous = message.status
    if applied and step is not None:
        _apply(session, message, step, now, error_code, None)
    message_store.add_event(session, message, word, source, now, error_code, applied=applied,
                            step=step.value if applied and step else None)
    if applied:
        webhook_events.message_status_changed(session, message, previous, now)
    return applied


def adopt(session: Session, message: Message, event: MessageEvent, now: datetime) -> bool:
    """A report kept before its message had the carrier's id, applied now (it is already in
    the history: it gets its message and whether it applied)."""
    event.message_id = message.id
    step = _step_for_word(event.status)
    event.applied = step is not None and can_take(step, Status(message.status))
    if event.applied and step is not None:
        previous = message.status
        _apply(session, message, step, now, event.error_code, None)
        event.step = step.value
        webhook_events.message_status_changed(session, message, previous, now)
    return event.applied


def claimed(session: Session, messages: Sequence[Message], now: datetime, source: str) -> None:
    """The bulk path: texts a claim statement moved (its status conditions are the table's
    claim step, see `domain.messages.claim_move`) get their history entry here."""
    target = MOVES[Step.CLAIM].target
    for message in messages:
        assert message.status == target, "a claim statement returned an unclaimed row"
        message_store.add_event(session, message, target.value, source, now,
                                step=Step.CLAIM.value, note=f"attempt {message.attempts}")


def _step_for_word(word: str) -> Step | None:
    status = status_from_carrier(word)
    return step_reported(status) if status is not None else None


def _apply(session: Session, message: Message, step: Step, now: datetime,
           error_code: int | None, reason: str | None) -> None:
    """Write the step's status and what comes with it; the caller checked the table."""
    was_sending = message.status == Status.SENDING
    message.status = MOVES[step].target.value
    message.updated_at = now
    if was_sending:
        message.lease_until = None
    if step in (Step.ACCEPT, Step.DELIVER) and message.sent_at is None:
        message.sent_at = now
        message_store.note_sent(session, message)  # its cost counts in its clinic's month
    if step in _ENDS_WITH_ERROR:
        message.error_code = error_code
        message.failure_cause = cause_for_error(error_code).value
    if step in _ENDS_UNSENT:
        message.cancel_reason = reason
