"""Tables of attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class RefusedSend(Base):
    __tablename__ = "refused_sends"
    __table_args__ = (Index("ix_refused_sends_practice_at", "practice_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    kind: Mapped[str] = mapped_column(String(20))
    codes: Mapped[list[str]] = mapped_column(JSON)  # every blocker, in the rules' order
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
