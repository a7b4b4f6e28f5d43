"""Sending: judge a text with the rules, then queue it `pending` for the connector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.eligibility import Verdict
from textdesk.domain.errors import Conflict, Invalid, NotFound, SendBlocked
from textdesk.domain.messages import Direction, MessageKind, Status
from textdesk.domain.reasons import FailureCause, describe_failure
from textdesk.domain.segments import count_segments
from textdesk.services.recipients import Recipient, judge
from textdesk.storage import attempts as attempts_store
from textdesk.storage import messages as message_store
from textdesk.storage.models import Commlog, Message, Practice


@dataclass(frozen=True)
class Queued:
    message: Message
    verdict: Verdict


def send_text(session: Session, recipient: Recipient, body: str, *, now: datetime,
              kind: MessageKind = MessageKind.MANUAL, actor: str | None = None,
              not_before: datetime | None = None) -> Queued:
    """Refuse with every blocker, or write the text `pending` and return (never calls out)."""
    if not isinstance(body, str):
        raise Invalid("invalid_body", "body must be a string")
    judgement = judge(session, recipient, now=now, body=body, kind=kind)
    verdict = judgement.verdict
    if not verdict.can_text:
        # Kept for reports in the caller's unit of work; a boundary that turns the refusal
        # into an error response commits first (docs/decisions/0030-refused-sends-are-kept.md).
        attempts_store.record_refusal(
            session, practice_id=recipient.practice_id, clinic_id=recipient.clinic_id,
            patient_id=recipient.patient_id, lead_id=recipient.lead_id, kind=kind.value,
            codes=[r.code for r in verdict.blockers], actor=actor, at=now)
        raise SendBlocked(message="The text cannot be sent.",
                          blockers=[r.as_dict() for r in verdict.blockers])
    assert judgement.number is not None and judgement.to_e164 is not None
    message = queue_message(session, judgement.practice, to_e164=judgement.to_e164,
                            from_e164=judgement.number.e164, number_id=judgement.number.id,
                            clinic_id=judgement.number.clinic_id, body=body, kind=kind, now=now,
                            patient_id=recipient.patient_id, lead_id=recipient.lead_id,
                            actor=actor, not_before=not_before)
    return Queued(message, verdict)


def queue_message(session: Session, practice: Practice, *, to_e164: str, from_e164: str,
                  number_id: int | None, clinic_id: int | None, body: str, kind: MessageKind,
                  now: datetime, patient_id: int | None = None, lead_id: int | None = None,
                  actor: str | None = None, not_before: datetime | None = None) -> Message:
    """Write an outbound text `pending` in its conversation, with its first history entry."""
    seg = count_segments(body)
    conversation = message_store.conversation_for(session, practice.id, to_e164, now)
    if patient_id and conversation.patient_id is None:
        conversation.patient_id = patient_id
    if lead_id and conversation.lead_id is None:
        conversation.lead_id = lead_id
    message = Message(
        practice_id=practice.id, clinic_id=clinic_id, conversation_id=conversation.id,
        patient_id=patient_id, lead_id=lead_id, number_id=number_id,
        direction=Direction.OUTBOUND.value, kind=kind.value, status=Status.PENDING.value,
        body=body, to_e164=to_e164, from_e164=from_e164, carrier="twilio",
        segments=seg.segments, encoding=seg.encoding.value,
        cost_usd=seg.cost(), attempts=0,
        next_attempt_at=max(now, not_before) if not_before else now,
        created_by=actor, is_read=True, created_at=now, updated_at=now)
    session.add(message)
    session.flush()
    conversation.last_message_at = now
    conversation.last_preview = body[:120]
    message_store.add_event(session, message, Status.PENDING.value, "api", now)
    return message


def add_commlog(session: Session, message: Message, now: datetime,
                patient_id: int | None = None) -> None:
    """One commlog on the patient's record per text sent or received (F4)."""
    patient_id = patient_id or message.patient_id
    if patient_id is None:
        return
    verb = "Text received" if message.direction == Direction.INBOUND else "Text sent"
    session.add(Commlog(practice_id=message.practice_id, patient_id=patient_id,
                        message_id=message.id, direction=message.direction,
                        note=f"{verb}: {message.body}", at=now))


def is_commlog_deletable(commlog: Commlog) -> bool:
    """A sent text's commlog may go; a received text's is tied to the text (F4)."""
    return commlog.direction != Direction.INBOUND


def delete_commlog(session: Session, practice_id: int, commlog_id: int) -> None:
    commlog = message_store.get_commlog(session, practice_id, commlog_id)
    if commlog is None:
        raise NotFound("commlog_not_found", "No such commlog.")
    if not is_commlog_deletable(commlog):
        raise Conflict("received_commlog_not_deletable",
                       "A received text's commlog is tied to the text and cannot be deleted.")
    session.delete(commlog)


def cancel(session: Session, message: Message, reason_code: str, now: datetime,
           source: str = "api") -> bool:
    if message.status != Status.PENDING:
        return False
    message.status = Status.CANCELED.value
    message.cancel_reason = reason_code
    message.updated_at = now
    message_store.add_event(session, message, Status.CANCELED.value, source, now)
    return True


def failure_of(message: Message) -> dict[str, Any] | None:
    if message.status not in (Status.FAILED, Status.UNDELIVERED) or not message.failure_cause:
        return None
    cause = FailureCause(message.failure_cause)
    sentence, fix = describe_failure(cause)
    return {"cause": cause.value, "error_code": message.error_code, "message": sentence,
            "fix": fix}


def send_test(session: Session, practice: Practice, to: str | None, clinic_id: int | None,
              now: datetime) -> Queued:
    """A test text to the office's own phone, through the whole path (A6)."""
    from textdesk.storage import practices as practice_store

    clinic = (practice_store.get_clinic(session, practice.id, clinic_id) if clinic_id
              else practice_store.first_clinic(session, practice.id))
    if clinic is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    target = to or practice.office_phone or clinic.phone
    if not target:
        raise Invalid("no_test_phone", "Give `to`, or set the practice's office_phone.")
    recipient = Recipient(practice.id, clinic.id, target)
    body = f"textdesk test from {practice.name}: if you read this, texting works."
    return send_text(session, recipient, body, now=now, kind=MessageKind.TEST, actor="test")
