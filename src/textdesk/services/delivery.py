"""What the carrier tells us: status callbacks move messages forward and teach about phones."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.messages import Status, can_move, status_from_carrier
from textdesk.domain.phone import PhoneFinding
from textdesk.domain.reasons import FailureCause, cause_for_error
from textdesk.services import consent as consent_service
from textdesk.storage import messages as message_store
from textdesk.storage import practices as practice_store
from textdesk.storage.models import Message

log = logging.getLogger(__name__)

CARRIER = "twilio"


def _error_code(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def record_status_callback(session: Session, params: Mapping[str, str], now: datetime) -> str:
    """Apply one callback once; duplicates, late and unknown callbacks are kept, never errors."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    raw_status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    error_code = _error_code(params.get("ErrorCode"))
    if not sid or not raw_status:
        return "ignored"
    is_new = message_store.record_callback_receipt(session, CARRIER, sid, raw_status, error_code,
                                                   now)
    if not is_new:
        return "duplicate"
    message = message_store.message_by_sid(session, CARRIER, sid)
    new_status = status_from_carrier(raw_status)
    if message is None:
        message_store.add_event(session, None, raw_status, "callback", now, error_code,
                                applied=False, carrier_sid=sid)
        log.info("status callback for unknown message sid kept")
        return "unknown_message"
    applied = new_status is not None and advance(session, message, new_status, now, error_code)
    message_store.add_event(session, message, raw_status, "callback", now, error_code,
                            applied=applied)
    return "applied" if applied else "kept"


def adopt_early_callbacks(session: Session, message: Message, now: datetime) -> None:
    """Callbacks that beat the connector's own commit of the sid are applied now, in order."""
    for event in message_store.orphan_events(session, message.carrier_sid or ""):
        event.message_id = message.id
        new_status = status_from_carrier(event.status)
        event.applied = new_status is not None and advance(session, message, new_status, now,
                                                          event.error_code)


def advance(session: Session, message: Message, new_status: Status, now: datetime,
            error_code: int | None = None) -> bool:
    """Move a message forward if the lifecycle allows it; learn from failures."""
    current = Status(message.status)
    if new_status == current or not can_move(current, new_status):
        return False
    message.status = new_status.value
    message.updated_at = now
    if new_status in (Status.SENT, Status.DELIVERED) and message.sent_at is None:
        message.sent_at = now
    if new_status in (Status.FAILED, Status.UNDELIVERED):
        message.error_code = error_code
        cause = cause_for_error(error_code)
        message.failure_cause = cause.value
        learn_from_failure(session, message, cause, now)
    return True


def learn_from_failure(session: Session, message: Message, cause: FailureCause,
                       now: datetime) -> None:
    """A carrier's finding changes the future (B4, B7, C7)."""
    finding = {FailureCause.RECIPIENT_LANDLINE: PhoneFinding.LANDLINE,
               FailureCause.RECIPIENT_INVALID: PhoneFinding.INVALID}.get(cause)
    if finding is not None:
        for patient in practice_store.patients_by_phone(session, message.practice_id,
                                                        message.to_e164):
            patient.phone_finding = finding.value
    if cause is FailureCause.RECIPIENT_OPTED_OUT:
        consent_service.record(
            session, message.practice_id, message.to_e164, ConsentAction.OPT_OUT,
            ConsentScope.ALL, ConsentSource.CARRIER, now=now, actor="carrier",
            note=f"carrier error {message.error_code}", evidence_message_id=message.id,
            patient_id=message.patient_id, lead_id=message.lead_id)
