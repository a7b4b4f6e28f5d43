"""What the carrier tells us: status callbacks move messages forward and teach about phones."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.carriers.base import StatusUpdate
from textdesk.consent import service as consent_service
from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.messages import Status, Step
from textdesk.domain.phone import PhoneFinding
from textdesk.domain.reasons import FailureCause, cause_for_error
from textdesk.messaging import lifecycle
from textdesk.messaging.store import messages as message_store
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Message, MessageEvent

log = logging.getLogger(__name__)

def record_status_callback(session: Session, update: StatusUpdate, now: datetime) -> str:
    """Apply one callback once; duplicates, late and unknown callbacks are kept, never errors."""
    sid, raw_status, error_code = update.sid, update.status, update.error_code
    is_new = message_store.record_callback_receipt(session, update.carrier, sid, raw_status,
                                                   error_code, now)
    if not is_new:
        return "duplicate"
    message = message_store.message_by_sid(session, update.carrier, sid)
    if message is None:
        message_store.add_event(session, None, raw_status, "callback", now, error_code,
                                applied=False, carrier_sid=sid)
        log.info("status callback for unknown message sid kept")
        return "unknown_message"
    applied = lifecycle.report(session, message, raw_status, now, source="callback",
                               error_code=error_code)
    if applied:
        _learn_if_failed(session, message, now)
    return "applied" if applied else "kept"


def adopt_early_callbacks(session: Session, message: Message, now: datetime,
                          kept: list[MessageEvent] | None = None) -> None:
    """Callbacks that beat the connector's own commit of the sid are applied now, in order
    (`kept`: those events, when loaded for a whole batch)."""
    events = (message_store.orphan_events(session, message.carrier_sid or "") if kept is None
              else kept)
    for event in events:
        if lifecycle.adopt(session, message, event, now):
            _learn_if_failed(session, message, now)


def advance(session: Session, message: Message, step: Step, now: datetime, *, source: str,
            error_code: int | None = None, note: str | None = None) -> bool:
    """Take a step through the lifecycle owner, then learn from a failure it ended in."""
    taken = lifecycle.take(session, message, step, now, source=source, error_code=error_code,
                           note=note)
    if taken:
        _learn_if_failed(session, message, now)
    return taken


def _learn_if_failed(session: Session, message: Message, now: datetime) -> None:
    if message.status in (Status.FAILED, Status.UNDELIVERED):
        learn_from_failure(session, message, cause_for_error(message.error_code), now)


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
