"""Tables of appointments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_practice_start", "practice_id", "start_at"),
        Index("ix_appointments_patient", "practice_id", "patient_id"),
        # The practice management system's own id, so a re-imported CSV updates, not repeats.
        Index("uq_appointments_external", "practice_id", "external_id", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    start_at: Mapped[datetime]
    provider: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(64))  # set by CSV import
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
