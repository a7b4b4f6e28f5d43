"""Sending: judge a text with the rules, then queue it `pending` for the connector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.consent import NO_CONSENT
from textdesk.domain.eligibility import Verdict
from textdesk.domain.errors import Conflict, Invalid, NotFound, SendBlocked
from textdesk.domain.expiry import default_expiry
from textdesk.domain.messages import Direction, MessageKind, Status, Step
from textdesk.domain.office import office_phones, refusal_of_test_text
from textdesk.domain.phone import normalize
from textdesk.domain.reasons import FailureCause, describe_failure, reason
from textdesk.domain.segments import billed_segments, count_segments, text_cost
from textdesk.integrations import outbox
from textdesk.media import service as media
from textdesk.messaging import lifecycle
from textdesk.messaging.recipients import (
    Judgement,
    Recipient,
    is_consent_unchanged,
    judge,
    judge_many,
)
from textdesk.messaging.store import (
    attempts as attempts_store,
    judging as judging_store,
    messages as message_store,
)
from textdesk.messaging.store.attempts import (
    refusal_counts as refusal_counts,
)

# Reads other features make here; the store stays private to this package.
from textdesk.messaging.store.messages import (
    commlogs_of_patient as commlogs_of_patient,
    conversation_for as conversation_for,
    get_conversation as get_conversation,
    get_message as get_message,
    history as history,
    messages_of_patient as messages_of_patient,
    pending_to_phone as pending_to_phone,
    pending_to_phones as pending_to_phones,
)
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Commlog, MediaItem, Message, Practice


@dataclass(frozen=True)
class Queued:
    message: Message
    verdict: Verdict


def send_text(session: Session, recipient: Recipient, body: str, *, now: datetime,
              kind: MessageKind = MessageKind.MANUAL, actor: str | None = None,
              not_before: datetime | None = None, media_ids: Sequence[int] = (),
              expires_at: datetime | None = None, judged: Judgement | None = None) -> Queued:
    """Refuse with every blocker, or write the text `pending` and return (never calls out).

    `media_ids` are the practice's own uploads the text carries (an MMS); a bad one is
    refused before anything is judged or written. `judged` is this same text's judgement
    reached in an earlier read-only transaction (`judge` with this recipient, body, kind and
    files): it stands when the phone's consent is still what it was judged with, else the text
    is judged again here (decision 0187).
    """
    if not isinstance(body, str):
        raise Invalid("invalid_body", "body must be a string")
    files = media.for_sending(session, recipient.practice_id, media_ids)
    judgement = judged
    if judgement is None or not is_consent_unchanged(session, judgement):
        judgement = judge(session, recipient, now=now, body=body, kind=kind,
                          media_count=len(files))
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
                            actor=actor, not_before=not_before, media_items=files,
                            expires_at=expires_at)
    return Queued(message, verdict)


def queue_message(session: Session, practice: Practice, *, to_e164: str, from_e164: str,
                  number_id: int | None, clinic_id: int | None, body: str, kind: MessageKind,
                  now: datetime, patient_id: int | None = None, lead_id: int | None = None,
                  actor: str | None = None, not_before: datetime | None = None,
                  media_items: Sequence[MediaItem] = (),
                  expires_at: datetime | None = None) -> Message:
    """Write an outbound text `pending` in its conversation, with its first history entry.

    With files it is one MMS: one part, priced as an MMS (domain.segments). `expires_at` is
    its validity (its kind's default when not given; staff texts have none).
    """
    conversation = message_store.conversation_for(session, practice.id, to_e164, now)
    if patient_id and conversation.patient_id is None:
        conversation.patient_id = patient_id
    if lead_id and conversation.lead_id is None:
        conversation.lead_id = lead_id
    message = Message(**outbound_values(
        practice.id, to_e164=to_e164, from_e164=from_e164, number_id=number_id,
        clinic_id=clinic_id, body=body, kind=kind, now=now, patient_id=patient_id,
        lead_id=lead_id, actor=actor, not_before=not_before, media_count=len(media_items),
        expires_at=expires_at),
        conversation_id=conversation.id)
    session.add(message)
    session.flush()
    media.attach(media_items, message)
    conversation.last_message_at = now
    conversation.last_preview = body[:120] or ("Picture" if media_items else "")
    lifecycle.queued(session, message, now, "api")
    return message


def outbound_values(practice_id: int, *, to_e164: str, from_e164: str, number_id: int | None,
                    clinic_id: int | None, body: str, kind: MessageKind, now: datetime,
                    patient_id: int | None, lead_id: int | None, actor: str | None,
                    not_before: datetime | None = None, media_count: int = 0,
                    expires_at: datetime | None = None) -> dict[str, Any]:
    """An outbound text's columns as it is queued (all but its conversation), one place for
    both the single and the batch send. With files it is one MMS: one part, priced as an MMS;
    `expires_at` defaults to its kind's validity."""
    seg = count_segments(body)
    return {
        "practice_id": practice_id, "clinic_id": clinic_id, "patient_id": patient_id,
        "lead_id": lead_id, "number_id": number_id, "direction": Direction.OUTBOUND.value,
        "kind": kind.value, "status": Status.PENDING.value, "body": body, "to_e164": to_e164,
        "from_e164": from_e164, "segments": billed_segments(seg, media_count),
        "encoding": seg.encoding.value, "cost_usd": text_cost(seg, media_count), "attempts": 0,
        "next_attempt_at": max(now, not_before) if not_before else now,
        "created_by": actor, "is_read": True, "created_at": now, "updated_at": now,
        "expires_at": expires_at or default_expiry(kind, now)}


# --- many texts at once -----------------------------------------------------------------------

@dataclass(frozen=True)
class Accepted:
    """A text of a batch, queued `pending`."""

    id: int
    status: str
    segments: int
    encoding: str
    cost_usd: Decimal
    verdict: Verdict


def send_texts(session: Session, practice: Practice, texts: Sequence[tuple[Recipient, str]], *,
               now: datetime, kind: MessageKind = MessageKind.MANUAL, actor: str | None = None,
               judged: Sequence[Judgement] | None = None) -> list[Accepted | SendBlocked]:
    """`send_text` for many texts of one practice, in this one transaction: each judged by the
    same rules (`judge_many`), each refused with its blockers or queued, written in bulk.

    `judged` are these texts' judgements from an earlier read-only transaction; those whose
    phone's consent changed since are judged again here.
    """
    judgements = list(judged) if judged is not None else judge_many(
        session, practice, texts, now=now, kind=kind)
    stale = _changed_consent(session, practice.id, judgements)
    if stale:
        again = judge_many(session, practice, [texts[i] for i in stale], now=now, kind=kind)
        for i, judgement in zip(stale, again, strict=True):
            judgements[i] = judgement
    results: list[Accepted | SendBlocked | None] = [None] * len(texts)
    rows: list[dict[str, Any]] = []
    for i, ((recipient, body), judgement) in enumerate(zip(texts, judgements, strict=True)):
        verdict = judgement.verdict
        if not verdict.can_text:
            attempts_store.record_refusal(
                session, practice_id=practice.id, clinic_id=recipient.clinic_id,
                patient_id=recipient.patient_id, lead_id=recipient.lead_id, kind=kind.value,
                codes=[r.code for r in verdict.blockers], actor=actor, at=now)
            results[i] = SendBlocked(message="The text cannot be sent.",
                                     blockers=[r.as_dict() for r in verdict.blockers])
            continue
        number = judgement.number
        assert number is not None and judgement.to_e164 is not None
        rows.append(outbound_values(
            practice.id, to_e164=judgement.to_e164, from_e164=number.e164, number_id=number.id,
            clinic_id=number.clinic_id, body=body, kind=kind, now=now,
            patient_id=recipient.patient_id, lead_id=recipient.lead_id, actor=actor))
    conversations = message_store.conversations_for(session, practice.id,
                                                    {r["to_e164"] for r in rows}, now)
    for row in rows:
        row["conversation_id"] = conversations[row["to_e164"]]
    ids = iter(message_store.insert_outbound(session, rows))
    lifecycle_ids: list[int] = []
    latest: dict[int, dict[str, Any]] = {}
    rows_left = iter(rows)
    for i, judgement in enumerate(judgements):
        if results[i] is not None:
            continue
        row, message_id = next(rows_left), next(ids)
        lifecycle_ids.append(message_id)
        latest[row["conversation_id"]] = {
            "cid": row["conversation_id"], "at": now, "preview": row["body"][:120],
            "pid": row["patient_id"], "lid": row["lead_id"]}
        results[i] = Accepted(message_id, row["status"], row["segments"], row["encoding"],
                              row["cost_usd"], judgement.verdict)
    lifecycle.queued_many(session, lifecycle_ids, now, "api")
    message_store.note_outbound(session, list(latest.values()))
    return [r for r in results if r is not None]


def _changed_consent(session: Session, practice_id: int, judgements: Sequence[Judgement]
                     ) -> list[int]:
    """Which judgements were reached with a consent that is no longer the phone's."""
    phones = {j.to_e164 for j in judgements if j.to_e164}
    now_status = judging_store.consent_by_phone(session, practice_id, phones)
    return [i for i, j in enumerate(judgements)
            if now_status.get(j.to_e164 or "", NO_CONSENT) != j.consent]


def add_commlog(session: Session, message: Message, now: datetime,
                patient_id: int | None = None,
                systems: Mapping[int, str] | None = None) -> None:
    """One commlog on the patient's record per text sent or received (F4); `systems` is
    `outbox.systems_of` when a batch loaded the practices' systems once."""
    patient_id = patient_id or message.patient_id
    if patient_id is None:
        return
    verb = "Text received" if message.direction == Direction.INBOUND else "Text sent"
    files = (f" ({message.num_media} file{'s' if message.num_media > 1 else ''} attached)"
             if message.num_media else "")
    commlog = Commlog(practice_id=message.practice_id, patient_id=patient_id,
                      message_id=message.id, direction=message.direction,
                      note=f"{verb}: {message.body}{files}", at=now)
    session.add(commlog)
    outbox.after_commlog(session, commlog, now, systems)  # and on the practice system's chart


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
    """Cancel a text still waiting; False once it has left the queue."""
    return lifecycle.take(session, message, Step.CANCEL, now, source=source,
                          reason=reason_code)


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
    clinic = (practice_store.get_clinic(session, practice.id, clinic_id) if clinic_id
              else practice_store.first_clinic(session, practice.id))
    if clinic is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    target = to or practice.office_phone or clinic.phone
    if not target:
        raise Invalid("no_test_phone", "Give `to`, or set the practice's office_phone.")
    _check_test_recipient(session, practice, clinic.id, target)
    recipient = Recipient(practice.id, clinic.id, target)
    body = f"textdesk test from {practice.name}: if you read this, texting works."
    return send_text(session, recipient, body, now=now, kind=MessageKind.TEST, actor="test")


def _check_test_recipient(session: Session, practice: Practice, clinic_id: int,
                          target: str) -> None:
    """Refuse, before anything is queued, a test text to anyone but the office itself."""
    country = practice.default_country
    own = office_phones([practice.office_phone,
                         *(c.phone for c in practice_store.list_clinics(session, practice.id))],
                        country)
    number = practice_store.clinic_number(session, practice.id, clinic_id)
    code = refusal_of_test_text(normalize(target, country), number.e164 if number else None, own)
    if code is not None:
        blocker = reason(code)
        raise SendBlocked(code, blocker.message, blockers=[blocker.as_dict()])
