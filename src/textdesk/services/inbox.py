"""The staff inbox: pages of conversations, one conversation with every text's why, drafts.

Everything is scoped to one practice; sending goes through `messaging.send_text`, exactly as
the API does, and every verdict comes from `recipients.judge` (the one rule engine).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.eligibility import Verdict
from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.messages import MessageKind
from textdesk.domain.segments import count_segments
from textdesk.services import consent as consent_service
from textdesk.services import diagnostics
from textdesk.services.messaging import Queued, failure_of, send_text
from textdesk.services.recipients import Recipient, judge, patient_recipient
from textdesk.storage import consent as consent_store
from textdesk.storage import flags as flag_store
from textdesk.storage import inbox as inbox_store
from textdesk.storage import messages as message_store
from textdesk.storage import practices as practice_store
from textdesk.storage.inbox import VIEWS, InboxRow
from textdesk.storage.models import Commlog, ConsentEvent, Conversation, Message, Patient

PAGE_SIZE = 100
THREAD_SIZE = 100


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    names: dict[int, str]  # conversation id → who it is (patient or lead), when known
    view: str
    search: str
    page: int
    has_next: bool
    total: int
    unread_total: int
    stamp: str
    patients: list[Patient] = field(default_factory=list)  # search hits to start a thread with


def inbox(session: Session, practice_id: int, *, view: str = "all", search: str = "",
          page: int = 1) -> InboxPage:
    if view not in VIEWS:
        raise Invalid("invalid_view", f"view must be one of {', '.join(VIEWS)}.")
    if page < 1:
        raise Invalid("invalid_page", "page starts at 1.")
    search = (search or "").strip()[:100]
    rows = inbox_store.inbox_page(session, practice_id, view=view, search=search,
                                  offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    return InboxPage(
        rows=shown, names=_names(session, practice_id, shown), view=view, search=search,
        page=page, has_next=len(rows) > PAGE_SIZE,
        total=inbox_store.inbox_count(session, practice_id, view=view, search=search),
        unread_total=inbox_store.unread_total(session, practice_id),
        stamp=inbox_store.inbox_stamp(session, practice_id),
        patients=(inbox_store.patients_matching(session, practice_id, search)
                  if search and page == 1 else []))


def _names(session: Session, practice_id: int, rows: list[InboxRow]) -> dict[int, str]:
    names = {r.conversation_id: f"{r.first_name} {r.last_name or ''}".strip()
             for r in rows if r.first_name}
    lead_ids = {r.lead_id for r in rows if r.lead_id and r.conversation_id not in names}
    if lead_ids:
        leads = _lead_names(session, practice_id, lead_ids)
        names.update({r.conversation_id: leads[r.lead_id] for r in rows
                      if r.conversation_id not in names and r.lead_id in leads})
    return names


def _lead_names(session: Session, practice_id: int, lead_ids: set[int]) -> dict[int, str]:
    from textdesk.storage import leads as lead_store

    found = (lead_store.get_lead(session, practice_id, lead_id) for lead_id in lead_ids)
    return {lead.id: f"{lead.first_name} {lead.last_name or ''}".strip()
            for lead in found if lead is not None}


def unread_total(session: Session, practice_id: int) -> int:
    return inbox_store.unread_total(session, practice_id)


def inbox_stamp(session: Session, practice_id: int) -> str:
    return inbox_store.inbox_stamp(session, practice_id)


# --- one conversation -------------------------------------------------------------------------

@dataclass(frozen=True)
class ThreadText:
    message: Message
    why: dict[str, Any]  # holds, history, failure: as services.diagnostics.explain_message


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    title: str
    patient: Patient | None
    lead: Any | None
    texts: list[ThreadText]
    consent: Any  # domain.consent.ConsentStatus
    consent_history: list[ConsentEvent]
    verdict: Verdict  # can this recipient be texted at all, before any draft
    commlogs: list[Commlog]
    flags: list[Any]  # open flagged revocations (C3) of this phone, for staff to settle
    stamp: str


def get_conversation(session: Session, practice_id: int, conversation_id: int) -> Conversation:
    conversation = message_store.get_conversation(session, practice_id, conversation_id)
    if conversation is None or conversation.is_blocked:
        raise NotFound("conversation_not_found", "No such conversation.")
    return conversation


def open_conversation(session: Session, practice_id: int, conversation_id: int,
                      now: datetime) -> ConversationView:
    """Everything the conversation page shows; opening it marks its texts read."""
    conversation = get_conversation(session, practice_id, conversation_id)
    if conversation.unread_count:
        inbox_store.mark_read(session, practice_id, conversation.id)
    patient = (practice_store.get_patient(session, practice_id, conversation.patient_id)
               if conversation.patient_id else None)
    lead = _lead(session, practice_id, conversation.lead_id)
    texts = thread(session, practice_id, conversation.id, now)
    return ConversationView(
        conversation=conversation, title=_title(patient, lead, conversation),
        patient=patient, lead=lead, texts=texts,
        consent=consent_store.current_status(session, practice_id, conversation.phone_e164),
        consent_history=consent_store.history(session, practice_id, conversation.phone_e164),
        verdict=judge(session, recipient_of(session, conversation), now=now).verdict,
        commlogs=(message_store.commlogs_of_patient(session, practice_id, patient.id)
                  if patient else []),
        flags=flag_store.open_flags_for_phone(session, practice_id, conversation.phone_e164),
        stamp=thread_stamp(session, practice_id, conversation.id))


def thread(session: Session, practice_id: int, conversation_id: int,
           now: datetime) -> list[ThreadText]:
    """Each text with its why: what `diagnostics.explain_message` answers for one text, built
    from the same parts, with the histories of the whole thread fetched in one query."""
    messages = inbox_store.thread_messages(session, practice_id, conversation_id, THREAD_SIZE)
    history = inbox_store.histories(session, [m.id for m in messages])
    return [ThreadText(m, {"holds": [r.as_dict()
                                     for r in diagnostics.message_holds(session, m, now)],
                           "history": history[m.id], "failure": failure_of(m)})
            for m in messages]


def live_thread(session: Session, practice_id: int, conversation_id: int,
                now: datetime) -> list[ThreadText]:
    """The thread as an open page refreshes it: what arrived meanwhile is now read."""
    conversation = get_conversation(session, practice_id, conversation_id)
    if conversation.unread_count:
        inbox_store.mark_read(session, practice_id, conversation.id)
    return thread(session, practice_id, conversation.id, now)


def thread_stamp(session: Session, practice_id: int, conversation_id: int) -> str:
    """Changes when a text arrives or any shown text changes status."""
    signature = inbox_store.thread_signature(session, practice_id, conversation_id, THREAD_SIZE)
    return hashlib.sha1(repr(signature).encode()).hexdigest()[:16]


def _lead(session: Session, practice_id: int, lead_id: int | None) -> Any | None:
    if not lead_id:
        return None
    from textdesk.storage import leads as lead_store

    return lead_store.get_lead(session, practice_id, lead_id)


def _title(patient: Patient | None, lead: Any | None, conversation: Conversation) -> str:
    person = patient or lead
    if person is not None:
        return f"{person.first_name} {person.last_name or ''}".strip()
    return conversation.phone_e164


def recipient_of(session: Session, conversation: Conversation) -> Recipient:
    """Who a reply in this conversation goes to: its patient, else its lead, else the phone."""
    if conversation.patient_id:
        return patient_recipient(session, conversation.practice_id, conversation.patient_id)
    if conversation.lead_id:
        from textdesk.services.leads import lead_recipient

        return lead_recipient(session, conversation.practice_id, conversation.lead_id)
    return Recipient(conversation.practice_id, None, conversation.phone_e164)


def conversation_for_patient(session: Session, practice_id: int, patient_id: int,
                             now: datetime) -> Conversation:
    """The patient's conversation, started if they were never texted."""
    patient = practice_store.get_patient(session, practice_id, patient_id)
    if patient is None:
        raise NotFound("patient_not_found", "No such patient.")
    if not patient.phone_e164:
        raise Invalid("no_wireless_phone", "The patient has no wireless phone on file.")
    conversation = message_store.conversation_for(session, practice_id, patient.phone_e164, now)
    conversation.patient_id = conversation.patient_id or patient.id
    return conversation


def conversation_for_lead(session: Session, practice_id: int, lead_id: int,
                          now: datetime) -> Conversation:
    """The lead's conversation, started if nobody texted with the lead yet."""
    from textdesk.services.leads import get_lead

    lead = get_lead(session, practice_id, lead_id)
    conversation = message_store.conversation_for(session, practice_id, lead.phone_e164, now)
    conversation.lead_id = conversation.lead_id or lead.id
    return conversation


# --- drafts and sending -----------------------------------------------------------------------

@dataclass(frozen=True)
class DraftCheck:
    verdict: Verdict
    characters: int
    segments: int
    encoding: str
    cost_usd: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {**self.verdict.as_dict(), "characters": self.characters,
                "segments": self.segments, "encoding": self.encoding,
                "cost_usd": f"{self.cost_usd:.4f}"}


def check_draft(session: Session, practice_id: int, conversation_id: int, body: str,
                now: datetime) -> DraftCheck:
    """What Send would answer for this draft, without sending: the same rules, the same cost."""
    if not isinstance(body, str):
        raise Invalid("invalid_body", "body must be a string.")
    conversation = get_conversation(session, practice_id, conversation_id)
    verdict = judge(session, recipient_of(session, conversation), now=now, body=body,
                    kind=MessageKind.MANUAL).verdict
    seg = verdict.segments or count_segments(body)
    return DraftCheck(verdict, seg.characters, seg.segments, seg.encoding.value,
                      seg.cost())


def send_reply(session: Session, practice_id: int, conversation_id: int, body: str,
               actor: str, now: datetime) -> Queued:
    conversation = get_conversation(session, practice_id, conversation_id)
    recipient = recipient_of(session, conversation)
    queued = send_text(session, recipient, body, now=now, kind=MessageKind.MANUAL, actor=actor)
    if recipient.lead_id is not None:  # as the API does: texting a lead is activity
        from textdesk.services.leads import note_texted

        note_texted(session, practice_id, recipient.lead_id, now, actor=actor)
    return queued


def record_consent(session: Session, practice_id: int, conversation_id: int, action: str,
                   note: str, actor: str, now: datetime) -> None:
    """Staff record what the patient said (spoken or written consent, or an opt-out request)."""
    conversation = get_conversation(session, practice_id, conversation_id)
    try:
        consent_action = ConsentAction(action)
    except ValueError as exc:
        raise Invalid("invalid_consent", "action must be opt_in or opt_out.") from exc
    note = (note or "").strip()
    if consent_action is ConsentAction.OPT_IN and not note:
        raise Invalid("consent_note_required",
                      "Say how the patient gave consent (for example: verbally at the desk).")
    consent_service.record(session, practice_id, conversation.phone_e164, consent_action,
                           ConsentScope.ALL, ConsentSource.VERBAL, now=now, actor=actor,
                           note=note[:500] or None, patient_id=conversation.patient_id,
                           lead_id=conversation.lead_id)
