"""Receiving: store a patient's text once, match it to the practice and patient, react."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.carriers.base import InboundText
from textdesk.domain.messages import Direction, MessageKind, Status
from textdesk.domain.phone import parse_phone
from textdesk.domain.segments import count_segments
from textdesk.leads import service as leads
from textdesk.media import service as media
from textdesk.messaging.service import add_commlog
from textdesk.messaging.store import messages as message_store
from textdesk.storage import directory as practice_store
from textdesk.storage.db import insert_once
from textdesk.storage.models import Message
from textdesk.webhooks import events as webhook_events

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    message: Message | None  # None when the To number is not one of ours
    is_new: bool


def already_received(session: Session, carrier: str, sid: str) -> bool:
    """Whether a text with this carrier sid is stored: its sid alone decides, nothing else."""
    return message_store.message_by_sid(session, carrier, sid) is not None


def receive(session: Session, text: InboundText, now: datetime) -> Received:
    """Store an inbound text keyed by the carrier's sid; only the first arrival acts."""
    sid = text.sid
    existing = message_store.message_by_sid(session, text.carrier, sid)
    if existing is not None:
        return Received(existing, False)
    number = practice_store.number_by_e164(session, text.to)
    to_e164 = number.e164 if number is not None else text.to
    if number is None and text.messaging_service_sid:
        # A pool number textdesk does not list: the service it belongs to names the clinic.
        number = practice_store.number_by_messaging_service(session, text.messaging_service_sid)
    if number is None:
        log.warning("inbound text for a number textdesk does not hold; dropped")
        return Received(None, False)
    practice = practice_store.get_practice(session, number.practice_id)
    assert practice is not None
    sender = parse_phone(text.from_, practice.default_country).e164 or text.from_
    body = text.body
    conversation = message_store.conversation_for(session, practice.id, sender, now)
    patients = practice_store.patients_by_phone(session, practice.id, sender)
    # The lead this phone is: its open lead, else its latest closed one (lead replies, D3).
    lead = leads.lead_for_phone(session, practice.id, sender)
    seg = count_segments(body)
    message = Message(
        practice_id=practice.id, clinic_id=number.clinic_id, conversation_id=conversation.id,
        patient_id=patients[0].id if patients else None, lead_id=lead.id if lead else None,
        number_id=number.id, direction=Direction.INBOUND.value, kind=MessageKind.INBOUND.value,
        status=Status.RECEIVED.value, body=body, to_e164=to_e164,
        from_e164=sender, carrier_keyword=text.opt_out_type,
        carrier=text.carrier, carrier_sid=sid, segments=seg.segments or 1,
        encoding=seg.encoding.value,
        attempts=0, next_attempt_at=now, is_read=conversation.is_blocked, created_at=now,
        updated_at=now, sent_at=now)
    if not insert_once(session, message):  # the same MessageSid arrived concurrently and won
        return Received(message_store.message_by_sid(session, text.carrier, sid), False)
    message_store.add_event(session, message, Status.RECEIVED.value, "callback", now)
    # Only noted here: the files are fetched by the connector, never while Twilio waits.
    media.note_inbound(session, message, text.media, now)
    if conversation.is_blocked:
        return Received(message, True)
    conversation.patient_id = conversation.patient_id or message.patient_id
    conversation.is_shared_phone = len(patients) > 1
    conversation.unread_count += 1
    conversation.last_message_at = now
    conversation.last_preview = body[:120] or ("Picture" if text.media else "")
    for patient in patients:  # a shared phone's text goes on every patient with that phone
        add_commlog(session, message, now, patient_id=patient.id)
    webhook_events.message_received(session, message, patients, now)
    return Received(message, True)
