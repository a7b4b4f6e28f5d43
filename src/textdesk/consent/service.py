"""Consent use cases: record opt-ins and opt-outs, what an opt-out does at once, and flags (C3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from textdesk.consent.store import consent as consent_store, flags as flag_store
from textdesk.domain.consent import (
    REVOCATION_DUE_BUSINESS_DAYS,
    Answer,
    ConsentAction,
    ConsentScope,
    ConsentSource,
    ConsentStatus,
    FlagStatus,
    business_days_after,
    can_resolve,
    import_changes,
)
from textdesk.domain.errors import Conflict, Invalid, NotFound
from textdesk.domain.messages import MessageKind, may_reach_opted_out
from textdesk.integrations import outbox
from textdesk.messaging import service as messaging
from textdesk.storage.models import ConsentEvent, Message, Practice, RevocationFlag
from textdesk.webhooks import events as webhook_events

# Automated answers name their answer in `created_by` (the G5 answer's once-a-day rule reads
# it); what an opt-out lets through is decided by the text's kind, never by this name.
ANSWER_ACTOR = {answer: f"auto:{answer.value}" for answer in Answer}


def record(session: Session, practice_id: int, e164: str, action: ConsentAction,
           scope: ConsentScope, source: ConsentSource | str, *, now: datetime,
           actor: str | None = None, note: str | None = None,
           evidence_message_id: int | None = None, patient_id: int | None = None,
           lead_id: int | None = None) -> ConsentStatus:
    """Append one consent event; an opt-out of all texts cancels what still waits to the phone
    and settles the phone's open revocation flags."""
    event = ConsentEvent(
        practice_id=practice_id, phone_e164=e164, patient_id=patient_id, lead_id=lead_id,
        action=action.value, scope=scope.value, source=str(source), actor=actor, note=note,
        evidence_message_id=evidence_message_id, at=now)
    status = consent_store.append_event(session, event)
    outbox.after_consent(session, practice_id, e164, action, scope, source, event.id, now)
    webhook_events.consent_changed(session, event, status)
    if action is ConsentAction.OPT_OUT and scope is ConsentScope.ALL:
        cancel_pending_to(session, practice_id, e164, now)
        for flag in flag_store.open_flags_for_phone(session, practice_id, e164):
            _resolve(session, flag, FlagStatus.SUPERSEDED, now, f"opt-out ({source})")
    return status


@dataclass(frozen=True)
class Imported:
    """One consent fact an import brings (Text OK in the practice's system, a CSV column)."""

    e164: str
    action: ConsentAction
    patient_id: int | None = None
    note: str | None = None


def record_imported(session: Session, practice_id: int, facts: list[Imported],
                    source: ConsentSource, *, now: datetime, actor: str) -> int:
    """Many imported facts at once, in order, each only where it changes the phone's state
    (`import_changes`: never over a STOP, an opt-in only where nothing is on record); what
    an opt-out does at once is done as `record` does it. Returns how many were recorded."""
    written = consent_store.append_many(session, practice_id, [
        consent_store.NewEvent(f.e164, f.action, ConsentScope.ALL, source.value, now,
                               actor=actor, note=f.note, patient_id=f.patient_id)
        for f in facts], lambda status, event: import_changes(status, event.action))
    for event_id, event in written:
        outbox.after_consent(session, practice_id, event.phone_e164, event.action,
                             event.scope, source, event_id, now)
    opted_out = sorted({e.phone_e164 for _i, e in written
                        if e.action is ConsentAction.OPT_OUT})
    if opted_out:
        for message in messaging.pending_to_phones(session, practice_id, opted_out):
            if not may_reach_opted_out(MessageKind(message.kind)):
                messaging.cancel(session, message, "opted_out", now, source="consent")
        for flag in flag_store.open_flags_for_phones(session, practice_id, opted_out):
            _resolve(session, flag, FlagStatus.SUPERSEDED, now, f"opt-out ({source})")
    return len(written)


def cancel_pending_to(session: Session, practice_id: int, e164: str, now: datetime) -> int:
    """Cancel every text still waiting to the phone, with `opted_out`.

    Kept: the kinds that may reach an opted-out phone (`may_reach_opted_out`: a test text to
    the office's own phone, the STOP confirmation and HELP answer). Every other automated
    answer is canceled like any text, so that after a STOP only its confirmation leaves.
    """
    canceled = 0
    for message in messaging.pending_to_phone(session, practice_id, e164):
        if may_reach_opted_out(MessageKind(message.kind)):
            continue
        canceled += messaging.cancel(session, message, "opted_out", now, source="consent")
    return canceled


def parse_request(action: str, scope: str, source: str) -> tuple[ConsentAction, ConsentScope,
                                                                  ConsentSource]:
    try:
        return ConsentAction(action), ConsentScope(scope or "all"), ConsentSource(source)
    except ValueError as exc:
        raise Invalid("invalid_consent", str(exc),
                      actions=[a.value for a in ConsentAction],
                      scopes=[s.value for s in ConsentScope],
                      sources=[s.value for s in ConsentSource]) from exc


# --- flagged free-text revocations (C3) ------------------------------------------------------

def flag_revocation(session: Session, practice: Practice, message: Message,
                    now: datetime) -> RevocationFlag:
    """A probable opt-out for staff, due within the legal window; the conversation needs review."""
    due = business_days_after(now, REVOCATION_DUE_BUSINESS_DAYS, _zone(practice.timezone))
    flag = flag_store.add_flag(session, RevocationFlag(
        practice_id=practice.id, phone_e164=message.from_e164,
        conversation_id=message.conversation_id, message_id=message.id,
        patient_id=message.patient_id, lead_id=message.lead_id, status=FlagStatus.OPEN.value,
        due_at=due, created_at=now))
    _set_needs_review(session, practice.id, message.conversation_id, True)
    return flag


def confirm_flag(session: Session, practice_id: int, flag_id: int, now: datetime,
                 actor: str | None) -> RevocationFlag:
    """Staff confirm a flagged revocation: the opt-out is recorded with source `staff`."""
    flag = _open_flag(session, practice_id, flag_id, FlagStatus.CONFIRMED)
    who = actor or "staff"
    _resolve(session, flag, FlagStatus.CONFIRMED, now, who)
    record(session, practice_id, flag.phone_e164, ConsentAction.OPT_OUT, ConsentScope.ALL,
           ConsentSource.STAFF, now=now, actor=who, note="confirmed a flagged revocation",
           evidence_message_id=flag.message_id, patient_id=flag.patient_id,
           lead_id=flag.lead_id)
    return flag


def dismiss_flag(session: Session, practice_id: int, flag_id: int, now: datetime,
                 actor: str | None, note: str | None = None) -> RevocationFlag:
    """Staff judged the text was not a revocation: consent is unchanged."""
    flag = _open_flag(session, practice_id, flag_id, FlagStatus.DISMISSED)
    _resolve(session, flag, FlagStatus.DISMISSED, now, actor or "staff", note)
    return flag


def _open_flag(session: Session, practice_id: int, flag_id: int,
               target: FlagStatus) -> RevocationFlag:
    flag = flag_store.get_flag(session, practice_id, flag_id, for_update=True)
    if flag is None:
        raise NotFound("flag_not_found", "No such flag.")
    if not can_resolve(FlagStatus(flag.status), target):
        raise Conflict("flag_already_resolved", f"The flag is already {flag.status}.",
                       status=flag.status)
    return flag


def _resolve(session: Session, flag: RevocationFlag, status: FlagStatus, now: datetime,
             by: str, note: str | None = None) -> None:
    flag.status = status.value
    flag.resolved_at = now
    flag.resolved_by = by
    flag.note = note
    session.flush()
    if flag.conversation_id and not flag_store.has_open_flag_in_conversation(
            session, flag.practice_id, flag.conversation_id):
        _set_needs_review(session, flag.practice_id, flag.conversation_id, False)


def _set_needs_review(session: Session, practice_id: int, conversation_id: int | None,
                      value: bool) -> None:
    if conversation_id is None:
        return
    conversation = messaging.get_conversation(session, practice_id, conversation_id)
    if conversation is not None:
        conversation.needs_review = value


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "America/New_York")
    except (ValueError, KeyError):
        return ZoneInfo("America/New_York")
