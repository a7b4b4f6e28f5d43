"""The five events integrations subscribe to, and what each one's `data` holds — in one place,
the contract of the event bodies. Each is queued through `outbox.emit` in the transaction of
the change, by the feature where the change happens.

`data` holds ids, statuses and times. What identifies or quotes a person — a phone, a text's
body, a note or reason typed by staff — is added only for endpoints made with
`include_bodies` (docs/decisions/0105-event-bodies-carry-ids.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.domain.consent import ConsentStatus
from textdesk.domain.webhooks import EventType, is_announced
from textdesk.storage import directory
from textdesk.storage.models import Appointment, ConsentEvent, Lead, Message, Patient
from textdesk.webhooks.outbox import emit, moment


def message_received(session: Session, message: Message, patients: Sequence[Patient],
                     now: datetime) -> None:
    """A patient or lead texted the practice (a blocked number's texts are not announced)."""
    emit(session, message.practice_id, EventType.MESSAGE_RECEIVED, {
        "message_id": message.id, "status": message.status, "direction": message.direction,
        "patient_id": message.patient_id, "patient_ids": [p.id for p in patients],
        "lead_id": message.lead_id, "conversation_id": message.conversation_id,
        "clinic_id": message.clinic_id, "number_id": message.number_id,
        "carrier_sid": message.carrier_sid, "segments": message.segments,
        "received_at": moment(now)},
        now, private={"from": message.from_e164, "to": message.to_e164, "body": message.body})


def message_status_changed(session: Session, message: Message, previous: str,
                           now: datetime) -> None:
    """A text reached a status integrations are told of (sent, delivered, undelivered, failed,
    canceled); the queue's own moves (sending, back to pending) are not announced."""
    if not is_announced(message.status):
        return
    emit(session, message.practice_id, EventType.MESSAGE_STATUS_CHANGED, {
        "message_id": message.id, "status": message.status, "previous_status": previous,
        "direction": message.direction, "kind": message.kind,
        "patient_id": message.patient_id, "lead_id": message.lead_id,
        "conversation_id": message.conversation_id, "clinic_id": message.clinic_id,
        "carrier_sid": message.carrier_sid, "segments": message.segments,
        "error_code": message.error_code, "failure_cause": message.failure_cause,
        "cancel_reason": message.cancel_reason, "changed_at": moment(now)},
        now, private=lambda: {"to": message.to_e164, "from": message.from_e164,
                              "body": message.body})


def consent_changed(session: Session, event: ConsentEvent, after: ConsentStatus) -> None:
    """An opt-in or opt-out was recorded: the phone's state after it, naming every patient
    with the phone (consent belongs to the phone, decision 0040)."""
    emit(session, event.practice_id, EventType.CONSENT_CHANGED, lambda: {
        "consent_event_id": event.id, "action": event.action, "scope": event.scope,
        "source": event.source, "patient_id": event.patient_id, "lead_id": event.lead_id,
        "patient_ids": [p.id for p in directory.patients_by_phone(
            session, event.practice_id, event.phone_e164)],
        "state": after.state.value, "marketing": after.marketing,
        "evidence_message_id": event.evidence_message_id, "changed_at": moment(event.at)},
        event.at, private={"phone": event.phone_e164, "note": event.note})


def appointment_confirmed(session: Session, appointment: Appointment, via: str,
                          now: datetime) -> None:
    """An appointment became confirmed: by the patient's reply or link, or an update (staff,
    the API or the practice system)."""
    emit(session, appointment.practice_id, EventType.APPOINTMENT_CONFIRMED, {
        "appointment_id": appointment.id, "patient_id": appointment.patient_id,
        "clinic_id": appointment.clinic_id, "status": appointment.status,
        "start_at": moment(appointment.start_at), "via": via, "confirmed_at": moment(now)},
        now)


def lead_stage_changed(session: Session, lead: Lead, previous: str, stage: str, by: str,
                       reason: str, now: datetime) -> None:
    emit(session, lead.practice_id, EventType.LEAD_STAGE_CHANGED, {
        "lead_id": lead.id, "patient_id": lead.patient_id, "clinic_id": lead.clinic_id,
        "previous_stage": previous, "stage": stage, "changed_by": by, "source": lead.source,
        "changed_at": moment(now)},
        now, private={"phone": lead.phone_e164, "reason": reason})
