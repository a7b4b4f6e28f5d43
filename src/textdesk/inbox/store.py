"""Inbox queries: conversations newest first, filtered and searched, a page at a time.

Every query here starts from `conversations (practice_id, last_message_at)` so that a practice
with tens of thousands of threads pages as fast as one with ten.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from textdesk.storage.models import Conversation, Message, MessageEvent, Patient

VIEWS = ("all", "unread", "patients", "leads", "unmatched", "needs_review")
_DIGITS = re.compile(r"\D")


@dataclass(frozen=True)
class InboxRow:
    conversation_id: int
    phone_e164: str
    patient_id: int | None
    lead_id: int | None
    first_name: str | None
    last_name: str | None
    unread_count: int
    needs_review: bool
    is_shared_phone: bool
    last_message_at: datetime
    last_preview: str


def _base(practice_id: int, columns: tuple[Any, ...]) -> Select[Any]:
    return (select(*columns)
            .select_from(Conversation)
            .outerjoin(Patient, Patient.id == Conversation.patient_id)
            .where(Conversation.practice_id == practice_id, Conversation.is_blocked.is_(False)))


def _filtered(stmt: Select[Any], view: str) -> Select[Any]:
    if view == "unread":
        return stmt.where(Conversation.unread_count > 0)
    if view == "patients":
        return stmt.where(Conversation.patient_id.is_not(None))
    if view == "leads":
        return stmt.where(Conversation.lead_id.is_not(None))
    if view == "unmatched":
        return stmt.where(Conversation.patient_id.is_(None), Conversation.lead_id.is_(None))
    if view == "needs_review":
        return stmt.where(Conversation.needs_review.is_(True))
    return stmt


def _searched(stmt: Select[Any], search: str | None) -> Select[Any]:
    """A search with three digits or more looks at phones; anything else at patient names."""
    text = (search or "").strip()
    if not text:
        return stmt
    digits = _DIGITS.sub("", text)
    if len(digits) >= 3:
        return stmt.where(Conversation.phone_e164.contains(digits, autoescape=True))
    full_name = func.lower(Patient.first_name + " " + Patient.last_name)
    return stmt.where(full_name.contains(text.lower(), autoescape=True))


def inbox_page(session: Session, practice_id: int, *, view: str = "all",
               search: str | None = None, offset: int = 0, limit: int = 100) -> list[InboxRow]:
    stmt = _base(practice_id, (
        Conversation.id, Conversation.phone_e164, Conversation.patient_id, Conversation.lead_id,
        Patient.first_name, Patient.last_name, Conversation.unread_count,
        Conversation.needs_review, Conversation.is_shared_phone, Conversation.last_message_at,
        Conversation.last_preview))
    stmt = _searched(_filtered(stmt, view), search)
    stmt = (stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .offset(offset).limit(limit))
    return [InboxRow(*row) for row in session.execute(stmt)]


def inbox_count(session: Session, practice_id: int, *, view: str = "all",
                search: str | None = None) -> int:
    if not (search or "").strip() or len(_DIGITS.sub("", search or "")) >= 3:
        # No name in the search: the patients join only slows the count (48 ms at 100,000
        # conversations on SQLite, against a few for the index alone).
        stmt = _searched(_filtered(select(func.count(Conversation.id)).where(
            Conversation.practice_id == practice_id, Conversation.is_blocked.is_(False)),
            view), search)
    else:
        stmt = _searched(_filtered(_base(practice_id, (func.count(Conversation.id),)), view),
                         search)
    return int(session.scalar(stmt) or 0)


def unread_total(session: Session, practice_id: int) -> int:
    """Conversations with at least one unread text (the badge)."""
    return int(session.scalar(select(func.count(Conversation.id)).where(
        Conversation.practice_id == practice_id, Conversation.unread_count > 0)) or 0)


def inbox_stamp(session: Session, practice_id: int) -> str:
    """Changes whenever a text arrives, a thread moves or something is read."""
    # One aggregate per sub-select: SQLite answers a lone max() from an index's end, but
    # scans the table for two in one select (26 ms at 100,000 conversations).
    mine = Conversation.practice_id == practice_id
    latest, newest_id, unread_sum = session.execute(select(
        select(func.max(Conversation.last_message_at)).where(mine).scalar_subquery(),
        select(func.max(Conversation.id)).where(mine).scalar_subquery(),
        # only the unread rows of the unread index (the sum is the same)
        select(func.coalesce(func.sum(Conversation.unread_count), 0))
        .where(mine, Conversation.unread_count > 0).scalar_subquery())).one()
    raw = f"{latest.isoformat() if latest else '-'}|{newest_id or 0}|{unread_sum or 0}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]  # opaque, and safe in a URL


def mark_read(session: Session, practice_id: int, conversation_id: int) -> None:
    session.execute(update(Conversation).where(
        Conversation.id == conversation_id, Conversation.practice_id == practice_id,
        Conversation.unread_count != 0).values(unread_count=0)
        .execution_options(synchronize_session="fetch"))
    session.execute(update(Message).where(
        Message.practice_id == practice_id, Message.conversation_id == conversation_id,
        Message.is_read.is_(False)).values(is_read=True)
        .execution_options(synchronize_session=False))


# Without statistics (no ANALYZE yet) SQLite may walk messages by practice_id, newest first,
# through every text of the practice to find one thread's; name the thread's index instead.
_BY_THREAD = "INDEXED BY ix_messages_conversation"


def thread_messages(session: Session, practice_id: int, conversation_id: int,
                    limit: int = 100) -> list[Message]:
    """The newest texts of a thread, oldest first."""
    rows = session.scalars(
        select(Message).with_hint(Message, _BY_THREAD, "sqlite")
        .where(Message.practice_id == practice_id, Message.conversation_id == conversation_id)
        .order_by(Message.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def thread_signature(session: Session, practice_id: int, conversation_id: int,
                     limit: int = 100) -> list[tuple[int, str]]:
    """(id, status) of the newest texts of a thread: what a live thread compares."""
    return [(int(i), str(s)) for i, s in session.execute(
        select(Message.id, Message.status).with_hint(Message, _BY_THREAD, "sqlite")
        .where(Message.practice_id == practice_id, Message.conversation_id == conversation_id)
        .order_by(Message.id.desc()).limit(limit))]


def histories(session: Session, message_ids: list[int]) -> dict[int, list[MessageEvent]]:
    """The status history of many texts in one query (a thread shows each text's)."""
    found: dict[int, list[MessageEvent]] = {i: [] for i in message_ids}
    if not message_ids:
        return found
    for event in session.scalars(select(MessageEvent)
                                 .where(MessageEvent.message_id.in_(message_ids))
                                 .order_by(MessageEvent.message_id, MessageEvent.id)):
        found[event.message_id or 0].append(event)
    return found


def patients_matching(session: Session, practice_id: int, search: str,
                      limit: int = 10) -> list[Patient]:
    """Patients by name or phone, for starting a conversation with someone not yet texted."""
    text = (search or "").strip()
    if not text:
        return []
    digits = _DIGITS.sub("", text)
    if len(digits) >= 3:
        match = Patient.phone_e164.contains(digits, autoescape=True)
    else:
        full_name = func.lower(Patient.first_name + " " + Patient.last_name)
        match = full_name.contains(text.lower(), autoescape=True)
    return list(session.scalars(select(Patient).where(Patient.practice_id == practice_id, match)
                                .order_by(Patient.last_name, Patient.first_name).limit(limit)))


def patients_born(session: Session, practice_id: int, born: date, limit: int = 10
                  ) -> list[Patient]:
    return list(session.scalars(select(Patient).where(Patient.practice_id == practice_id,
                                                      Patient.birthdate == born)
                                .order_by(Patient.last_name, Patient.first_name).limit(limit)))


def last_outbound(session: Session, practice_id: int,
                  conversation_ids: list[int]) -> dict[int, Message]:
    """The newest text sent in each of these conversations (a row's trouble badge)."""
    if not conversation_ids:
        return {}
    newest = (select(func.max(Message.id))
              .where(Message.practice_id == practice_id,
                     Message.conversation_id.in_(conversation_ids),
                     Message.direction == "outbound")
              .group_by(Message.conversation_id))
    return {m.conversation_id or 0: m
            for m in session.scalars(select(Message).where(Message.id.in_(newest)))}
