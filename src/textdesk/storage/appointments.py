"""The appointments table and its queries, always scoped to a practice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from textdesk.domain.appointments import LIVE
from textdesk.storage.models import Base


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


def add(session: Session, appointment: Appointment) -> Appointment:
    session.add(appointment)
    session.flush()
    return appointment


def get(session: Session, practice_id: int, appointment_id: int) -> Appointment | None:
    return session.scalar(select(Appointment).where(
        Appointment.id == appointment_id, Appointment.practice_id == practice_id))


def list_for(session: Session, practice_id: int, *, patient_id: int | None = None,
             lead_id: int | None = None, start_from: datetime | None = None,
             start_until: datetime | None = None, limit: int = 500) -> list[Appointment]:
    query = select(Appointment).where(Appointment.practice_id == practice_id)
    if patient_id is not None:
        query = query.where(Appointment.patient_id == patient_id)
    if lead_id is not None:
        query = query.where(Appointment.lead_id == lead_id)
    if start_from is not None:
        query = query.where(Appointment.start_at >= start_from)
    if start_until is not None:
        query = query.where(Appointment.start_at < start_until)
    return list(session.scalars(query.order_by(Appointment.start_at, Appointment.id)
                                .limit(limit)))


def live_of_lead(session: Session, practice_id: int, lead_id: int,
                 patient_id: int | None) -> list[Appointment]:
    """Appointments that still stand for a lead: booked for it, or for the patient it became."""
    whose = Appointment.lead_id == lead_id
    if patient_id is not None:
        whose = whose | (Appointment.patient_id == patient_id)
    return list(session.scalars(
        select(Appointment)
        .where(Appointment.practice_id == practice_id, whose,
               Appointment.status.in_([s.value for s in LIVE]))
        .order_by(Appointment.created_at, Appointment.id)))


def by_external_id(session: Session, practice_id: int, external_id: str) -> Appointment | None:
    return session.scalar(select(Appointment).where(
        Appointment.practice_id == practice_id, Appointment.external_id == external_id))
