"""Tables of flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


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
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    status: Mapped[str] = mapped_column(String(12))
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(String(500))
