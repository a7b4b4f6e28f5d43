"""Flagged free-text revocations (C3) and blocked senders (F6): their table and queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from textdesk.storage.models import Base, Conversation


class RevocationFlag(Base):
    """A text that probably revokes consent, waiting for staff to confirm or dismiss it."""

    __tablename__ = "revocation_flags"
    __table_args__ = (Index("ix_revocation_flags_open", "practice_id", "status", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    phone_e164: Mapped[str] = mapped_column(String(20))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    lead_id: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(12))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))


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
