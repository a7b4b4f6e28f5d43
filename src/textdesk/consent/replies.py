"""What an inbound text does to consent: keywords (C2–C5), flagged revocations (C3), the
answer of a line that takes no replies (G5), and the last word of an opt-out over answers.

These run as reactions (services.replies), inside the inbound webhook's transaction: an
opt-out is committed before the webhook answers the carrier.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from textdesk.carriers.twilio import default_keyword_type
from textdesk.consent import service as consent_service, status as consent_status
from textdesk.consent.store import consent as consent_store
from textdesk.domain.consent import (
    Answer,
    ConsentAction,
    ConsentScope,
    ConsentSource,
    ConsentState,
    KeywordEffect,
    KeywordOwner,
    answer_owner,
    answer_text,
    keyword_effect,
    with_carrier_keyword,
)
from textdesk.domain.keywords import Keyword, classify
from textdesk.domain.messages import Direction
from textdesk.messaging.service import queue_message
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Message, Practice

# G5: a line nobody reads says so at most once a day per conversation.
UNMONITORED_ANSWER_EVERY = timedelta(days=1)


def react_to_consent_keywords(session: Session, message: Message, now: datetime) -> None:
    """STOP / START / YES-after-opt-out / HELP, revocation flags, then the G5 answer."""
    if message.direction != Direction.INBOUND:
        return
    practice = practice_store.get_practice(session, message.practice_id)
    if practice is None:
        return
    phone = message.from_e164
    state = consent_store.current_status(session, practice.id, phone).state
    effect = _effect(session, message, state)
    if effect.action is not None:
        consent_service.record(
            session, practice.id, phone, effect.action, ConsentScope.ALL, ConsentSource.KEYWORD,
            now=now, actor="patient", note=f"texted {effect.action.value} keyword",
            evidence_message_id=message.id, patient_id=message.patient_id,
            lead_id=message.lead_id)
    if effect.flags_revocation:
        consent_service.flag_revocation(session, practice, message, now)
    if effect.answer is not None:
        send_answer(session, practice, message, effect.answer, now)
    elif not effect.is_handled:
        answer_unmonitored_line(session, practice, message, now)


def _effect(session: Session, message: Message, state: ConsentState) -> KeywordEffect:
    """textdesk's reading of the text, with the carrier's (OptOutType), and who answers."""
    keyword = classify(message.body)
    effect = with_carrier_keyword(keyword_effect(keyword, state), keyword,
                                  message.carrier_keyword)
    number = practice_store.get_number(session, message.number_id) if message.number_id else None
    owner = KeywordOwner(number.keyword_replies) if number is not None else KeywordOwner.TEXTDESK
    # Without Advanced Opt-Out the carrier says nothing, but still answers its default words.
    carrier_answered = message.carrier_keyword or default_keyword_type(message.body)
    return answer_owner(effect, owner, carrier_answered)


def honour_stop_from_blocked_sender(session: Session, message: Message, now: datetime) -> None:
    """A blocked sender's STOP still opts the phone out (the law does not care who was
    blocked), but nothing is answered and nothing is shown: the text stays dropped."""
    if message.direction != Direction.INBOUND:
        return
    if classify(message.body) is not Keyword.STOP and message.carrier_keyword != "STOP":
        return
    consent_service.record(
        session, message.practice_id, message.from_e164, ConsentAction.OPT_OUT,
        ConsentScope.ALL, ConsentSource.KEYWORD, now=now, actor="patient",
        note="texted opt_out keyword (blocked sender)", evidence_message_id=message.id,
        patient_id=message.patient_id, lead_id=message.lead_id)


def cancel_answers_after_opt_out(session: Session, message: Message, now: datetime) -> None:
    """Runs after every reaction: if the phone is opted out, whatever a reaction queued to it
    (a lead redirect, a confirmation reply …) is canceled; only the kept answers leave."""
    if message.direction != Direction.INBOUND:
        return
    if consent_status.is_opted_out(session, message.practice_id, message.from_e164):
        consent_service.cancel_pending_to(session, message.practice_id, message.from_e164, now)


def send_answer(session: Session, practice: Practice, inbound: Message, answer: Answer,
                now: datetime) -> Message:
    """One automated text back, from the very number the patient texted."""
    clinic = (practice_store.get_clinic(session, practice.id, inbound.clinic_id)
              if inbound.clinic_id else None)
    phone = (clinic.phone if clinic else None) or practice.office_phone
    return queue_message(
        session, practice, to_e164=inbound.from_e164, from_e164=inbound.to_e164,
        number_id=inbound.number_id, clinic_id=inbound.clinic_id,
        body=answer_text(answer, practice.name, phone), kind=answer.kind, now=now,
        patient_id=inbound.patient_id, lead_id=inbound.lead_id,
        actor=consent_service.ANSWER_ACTOR[answer])


def answer_unmonitored_line(session: Session, practice: Practice, message: Message,
                            now: datetime) -> None:
    """G5: a reply to a line that takes no replies gets one answer a day saying so."""
    number = practice_store.get_number(session, message.number_id) if message.number_id else None
    if number is None or number.takes_replies or message.conversation_id is None:
        return
    if consent_status.is_opted_out(session, practice.id, message.from_e164):
        return
    actor = consent_service.ANSWER_ACTOR[Answer.UNMONITORED]
    last = consent_store.latest_answer_at(session, practice.id, message.conversation_id, actor)
    if last is not None and now - last < UNMONITORED_ANSWER_EVERY:
        return
    send_answer(session, practice, message, Answer.UNMONITORED, now)
