"""Receiving: store a patient's text once, match it to the practice and patient, react."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.domain.messages import Direction, MessageKind, Status
from textdesk.domain.phone import parse_phone
from textdesk.domain.segments import count_segments
from textdesk.services.messaging import add_commlog
from textdesk.storage import leads as lead_store
from textdesk.storage import messages as message_store
from textdesk.storage import practices as practice_store
from textdesk.storage.db import insert_once
from textdesk.storage.models import Message

log = logging.getLogger(__name__)
CARRIER = "twilio"


@dataclass(frozen=True)
class Received:
    message: Message | None  # None when the To number is not one of ours
    is_new: bool


def receive(session: Session, params: Mapping[str, str], now: datetime) -> Received:
    """Store an inbound text keyed by its MessageSid; only the first arrival acts."""
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or params.get("SmsSid") or ""
    existing = message_store.message_by_sid(session, CARRIER, sid) if sid else None
    if existing is not None:
        return Received(existing, False)
    number = practice_store.number_by_e164(session, params.get("To", ""))
    if number is None or not sid:
        log.warning("inbound text for a number textdesk does not hold; dropped")
        return Received(None, False)
    practice = practice_store.get_practice(session, number.practice_id)
    assert practice is not None
    sender = parse_phone(params.get("From", ""), practice.default_country).e164
    sender = sender or params.get("From", "")
    body = params.get("Body", "")
    conversation = message_store.conversation_for(session, practice.id, sender, now)
    patients = practice_store.patients_by_phone(session, practice.id, sender)
    # The lead this phone is: its open lead, else its latest closed one (lead replies, D3).
    lead = lead_store.lead_for_phone(session, practice.id, sender)
    seg = count_segments(body)
    message = Message(
        practice_id=practice.id, clinic_id=number.clinic_id, conversation_id=conversation.id,
        patient_id=patients[0].id if patients else None, lead_id=lead.id if lead else None,
        number_id=number.id, direction=Direction.INBOUND.value, kind=MessageKind.INBOUND.value,
        status=Status.RECEIVED.value, body=body, to_e164=number.e164, from_e164=sender,
        carrier=CARRIER, carrier_sid=sid, segments=seg.segments or 1, encoding=seg.encoding.value,
        attempts=0, next_attempt_at=now, is_read=conversation.is_blocked, created_at=now,
        updated_at=now, sent_at=now)
    if not insert_once(session, message):  # the same MessageSid arrived concurrently and won
        return Received(message_store.message_by_sid(session, CARRIER, sid), False)
    message_store.add_event(session, message, Status.RECEIVED.value, "callback", now)
    if conversation.is_blocked:
        return Received(message, True)
    conversation.patient_id = conversation.patient_id or message.patient_id
    conversation.is_shared_phone = len(patients) > 1
    conversation.unread_count += 1
    conversation.last_message_at = now
    conversation.last_preview = body[:120]
    for patient in patients:  # a shared phone's text goes on every patient with that phone
        add_commlog(session, message, now, patient_id=patient.id)
    return Received(message, True)
