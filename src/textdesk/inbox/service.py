"""The staff inbox: pages of conversations, one conversation with every text's why, drafts.

Everything is scoped to one practice; sending goes through `messaging.send_text`, exactly as
the API does, and every verdict comes from `recipients.judge` (the one rule engine).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from textdesk.consent import service as consent_service, status as consent_status
from textdesk.domain.consent import ConsentAction, ConsentSource
from textdesk.domain.eligibility import Verdict
from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.messages import MessageKind
from textdesk.domain.people import date_of_birth
from textdesk.domain.segments import billed_segments, count_segments, text_cost
from textdesk.inbox import store as inbox_store
from textdesk.inbox.store import VIEWS, InboxRow
from textdesk.leads import service as leads
from textdesk.leads.service import lead_recipient, note_texted
from textdesk.media import service as media
from textdesk.messaging import service as messaging
from textdesk.messaging.recipients import Recipient, judge, patient_recipient
from textdesk.messaging.service import Queued, failure_of, send_text
from textdesk.practice import diagnostics
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Commlog, ConsentEvent, Conversation, Message, Patient

PAGE_SIZE = 100
THREAD_SIZE = 100


@dataclass(frozen=True)
class Trouble:
    """A mark on an inbox row: something about this conversation staff should see."""

    kind: str  # failed, pending, opted_out, needs_review
    label: str  # a word or two on the badge
    detail: str  # the sentence: why (a failure's cause, a pending text's hold)


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
    trouble: dict[int, list[Trouble]] = field(default_factory=dict)  # conversation id → badges


def inbox(session: Session, practice_id: int, *, view: str = "all", search: str = "",
          page: int = 1, now: datetime | None = None) -> InboxPage:
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
                  if search and page == 1 else []),
        trouble=_trouble(session, practice_id, shown, now) if now is not None else {})


def _trouble(session: Session, practice_id: int, rows: list[InboxRow],
             now: datetime) -> dict[int, list[Trouble]]:
    """Each row's marks: its last text failed or waits (with the hold), opted out, review."""
    last = inbox_store.last_outbound(session, practice_id, [r.conversation_id for r in rows])
    opted_out = consent_status.phones_opted_out(session, practice_id,
                                                [r.phone_e164 for r in rows])
    holds = diagnostics.holds_of_waiting(session, list(last.values()), now)
    found: dict[int, list[Trouble]] = {}
    for row in rows:
        marks = found.setdefault(row.conversation_id, [])
        message = last.get(row.conversation_id)
        if message is not None:
            marks.extend(_message_trouble(message, holds.get(message.id, [])))
        if row.phone_e164 in opted_out:
            marks.append(Trouble("opted_out", "Opted out", "The patient opted out of texts."))
        if row.needs_review:
            marks.append(Trouble("needs_review", "Needs review",
                                 "A text here needs a person to look at it."))
    return found


def _message_trouble(message: Message, holds: list[Any]) -> list[Trouble]:
    if message.status in ("failed", "undelivered"):
        failure = failure_of(message)
        detail = failure["message"] if failure else "The last text did not arrive."
        return [Trouble("failed", "Failed" if message.status == "failed" else "Not delivered",
                        detail)]
    if message.status == "pending":
        detail = holds[0].message if holds else "Queued: it goes out within seconds."
        return [Trouble("pending", "Waiting" if holds else "Pending", detail)]
    return []


@dataclass(frozen=True)
class People:
    """Whom a new text can go to: patients and leads matching a name or a phone."""

    patients: list[Patient]
    leads: list[Any]


def people_matching(session: Session, practice_id: int, search: str, today: date) -> People:
    """By name or phone; a date of birth (3/7/1984, 1984-03-07) finds the patients born then."""
    text = (search or "").strip()[:100]
    if not text:
        return People([], [])
    born = date_of_birth(text, today)
    if born is not None:
        return People(inbox_store.patients_born(session, practice_id, born), [])
    return People(inbox_store.patients_matching(session, practice_id, text),
                  leads.search_leads(session, practice_id, text))


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
    found = (leads.find_lead(session, practice_id, lead_id) for lead_id in lead_ids)
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
    media: list[dict[str, Any]] = field(default_factory=list)  # its files, as the API shows them


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
    conversation = messaging.get_conversation(session, practice_id, conversation_id)
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
        consent=consent_status.current_status(session, practice_id, conversation.phone_e164),
        consent_history=consent_status.history(session, practice_id, conversation.phone_e164),
        verdict=judge(session, recipient_of(session, conversation), now=now).verdict,
        commlogs=(messaging.commlogs_of_patient(session, practice_id, patient.id)
                  if patient else []),
        flags=consent_status.open_flags_for_phone(session, practice_id, conversation.phone_e164),
        stamp=thread_stamp(session, practice_id, conversation.id))


def thread(session: Session, practice_id: int, conversation_id: int,
           now: datetime) -> list[ThreadText]:
    """Each text with its why: what `diagnostics.explain_message` answers for one text, built
    from the same parts, with the histories of the whole thread fetched in one query."""
    messages = inbox_store.thread_messages(session, practice_id, conversation_id, THREAD_SIZE)
    history = inbox_store.histories(session, [m.id for m in messages])
    files = media.views_of(session, [m.id for m in messages if m.num_media])
    return [ThreadText(m, {"holds": [r.as_dict()
                                     for r in diagnostics.message_holds(session, m, now)],
                           "history": history[m.id], "failure": failure_of(m)},
                       files.get(m.id, []))
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
    # A patient's picture fetched (or not) since changes the thread too.
    files = [(f["id"], f["status"]) for views in
             media.views_of(session, [i for i, _ in signature]).values() for f in views]
    return hashlib.sha1(repr((signature, files)).encode()).hexdigest()[:16]


def _lead(session: Session, practice_id: int, lead_id: int | None) -> Any | None:
    if not lead_id:
        return None
    return leads.find_lead(session, practice_id, lead_id)


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
    conversation = messaging.conversation_for(session, practice_id, patient.phone_e164, now)
    conversation.patient_id = conversation.patient_id or patient.id
    return conversation


def conversation_for_lead(session: Session, practice_id: int, lead_id: int,
                          now: datetime) -> Conversation:
    """The lead's conversation, started if nobody texted with the lead yet."""
    lead = leads.get_lead(session, practice_id, lead_id)
    conversation = messaging.conversation_for(session, practice_id, lead.phone_e164, now)
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
                now: datetime, media_count: int = 0) -> DraftCheck:
    """What Send would answer for this draft, without sending: the same rules, the same cost
    (with a picture attached it is one MMS)."""
    if not isinstance(body, str):
        raise Invalid("invalid_body", "body must be a string.")
    conversation = get_conversation(session, practice_id, conversation_id)
    verdict = judge(session, recipient_of(session, conversation), now=now, body=body,
                    kind=MessageKind.MANUAL, media_count=media_count).verdict
    seg = verdict.segments or count_segments(body)
    return DraftCheck(verdict, seg.characters, billed_segments(seg, media_count),
                      seg.encoding.value, text_cost(seg, media_count))


def send_reply(session: Session, practice_id: int, conversation_id: int, body: str,
               actor: str, now: datetime, media_ids: Sequence[int] = ()) -> Queued:
    conversation = get_conversation(session, practice_id, conversation_id)
    recipient = recipient_of(session, conversation)
    queued = send_text(session, recipient, body, now=now, kind=MessageKind.MANUAL, actor=actor,
                       media_ids=media_ids)
    if recipient.lead_id is not None:  # as the API does: texting a lead is activity

        note_texted(session, practice_id, recipient.lead_id, now, actor=actor)
    return queued


def record_consent(session: Session, practice_id: int, conversation_id: int, action: str,
                   note: str, actor: str, now: datetime, scope: str = "all") -> None:
    """Staff record what the patient said (spoken or written consent, or an opt-out request),
    for all texts or for marketing texts (campaigns) only."""
    conversation = get_conversation(session, practice_id, conversation_id)
    consent_action, consent_scope, _ = consent_service.parse_request(action, scope, "verbal")
    note = (note or "").strip()
    if consent_action is ConsentAction.OPT_IN and not note:
        raise Invalid("consent_note_required",
                      "Say how the patient gave consent (for example: verbally at the desk).")
    consent_service.record(session, practice_id, conversation.phone_e164, consent_action,
                           consent_scope, ConsentSource.VERBAL, now=now, actor=actor,
                           note=note[:500] or None, patient_id=conversation.patient_id,
                           lead_id=conversation.lead_id)
