"""Flagged free-text revocations (C3) and blocked senders (F6): their table and queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.storage.models import Conversation
from textdesk.storage.models.flags import RevocationFlag


def add_flag(session: Session, flag: RevocationFlag) -> RevocationFlag:
    session.add(flag)
    session.flush()
    return flag


def get_flag(session: Session, practice_id: int, flag_id: int, *,
             for_update: bool = False) -> RevocationFlag | None:
    stmt = select(RevocationFlag).where(RevocationFlag.id == flag_id,
                                        RevocationFlag.practice_id == practice_id)
    return session.scalar(stmt.with_for_update() if for_update else stmt)


def list_flags(session: Session, practice_id: int, status: str | None = None,
               limit: int = 500) -> list[RevocationFlag]:
    """Flags of a practice, the soonest due first."""
    stmt = select(RevocationFlag).where(RevocationFlag.practice_id == practice_id)
    if status:
        stmt = stmt.where(RevocationFlag.status == status)
    return list(session.scalars(stmt.order_by(RevocationFlag.due_at, RevocationFlag.id)
                                .limit(limit)))


def open_flags_for_phone(session: Session, practice_id: int, e164: str) -> list[RevocationFlag]:
    return list(session.scalars(
        select(RevocationFlag).where(RevocationFlag.practice_id == practice_id,
                                     RevocationFlag.phone_e164 == e164,
                                     RevocationFlag.status == "open")
        .order_by(RevocationFlag.id).with_for_update()))


def open_flags_for_phones(session: Session, practice_id: int,
                          phones: list[str]) -> list[RevocationFlag]:
    found: list[RevocationFlag] = []
    for start in range(0, len(phones), 500):
        found += session.scalars(
            select(RevocationFlag).where(RevocationFlag.practice_id == practice_id,
                                         RevocationFlag.phone_e164.in_(phones[start:start + 500]),
                                         RevocationFlag.status == "open")
            .order_by(RevocationFlag.id).with_for_update())
    return found


def has_open_flag_in_conversation(session: Session, practice_id: int,
                                  conversation_id: int) -> bool:
    return session.scalar(
        select(RevocationFlag.id).where(RevocationFlag.practice_id == practice_id,
                                        RevocationFlag.conversation_id == conversation_id,
                                        RevocationFlag.status == "open").limit(1)) is not None


# --- blocked senders: a flag on the conversation with that phone ------------------------------

def blocked_conversations(session: Session, practice_id: int) -> list[Conversation]:
    return list(session.scalars(
        select(Conversation).where(Conversation.practice_id == practice_id,
                                   Conversation.is_blocked.is_(True))
        .order_by(Conversation.id)))


def is_blocked(session: Session, practice_id: int, e164: str) -> bool:
    return bool(session.scalar(
        select(Conversation.is_blocked).where(Conversation.practice_id == practice_id,
                                              Conversation.phone_e164 == e164)))
