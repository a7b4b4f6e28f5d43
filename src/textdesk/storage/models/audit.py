"""The audit trail: one append-only row per staff or token action on patient data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class AuditEvent(Base):
    """Who did what to which patient's data, when and from where; never a body or a phone."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_practice_at", "practice_id", "at"),
                      Index("ix_audit_events_patient", "practice_id", "patient_id", "at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    at: Mapped[datetime]
    actor_kind: Mapped[str] = mapped_column(String(10))  # staff | token
    staff: Mapped[str | None] = mapped_column(String(200))  # the staff user's e-mail
    ip: Mapped[str | None] = mapped_column(String(45))
    action: Mapped[str] = mapped_column(String(40))
    patient_id: Mapped[int | None]
    subject: Mapped[str | None] = mapped_column(String(100))  # e.g. "message 12", "commlog 3"
