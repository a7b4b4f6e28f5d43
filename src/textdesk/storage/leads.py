"""The leads and lead stage history tables, and their queries, always scoped to a practice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, or_, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from textdesk.domain.appointments import LIVE
from textdesk.domain.leads import ACTIVE_STAGES, OPEN_STAGES, LeadStage
from textdesk.storage.appointments import Appointment
from textdesk.storage.db import insert_once
from textdesk.storage.models import Base, Conversation, Message, Patient

_OPEN_VALUES = sorted(s.value for s in OPEN_STAGES)
# At most one open lead per phone in a practice: the database enforces the merge rule (D4).
_IS_OPEN = text("stage IN (" + ", ".join(f"'{v}'" for v in _OPEN_VALUES) + ")")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_practice_stage", "practice_id", "stage", "last_activity_at"),
        Index("ix_leads_practice_phone", "practice_id", "phone_e164"),
        Index("uq_leads_open_phone", "practice_id", "phone_e164", unique=True,
              postgresql_where=_IS_OPEN, sqlite_where=_IS_OPEN),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone_raw: Mapped[str] = mapped_column(String(40))
    phone_e164: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20))
    inquiry_count: Mapped[int] = mapped_column(Integer, default=1)  # 1 + inquiries merged in
    last_activity_at: Mapped[datetime]
    last_redirect_at: Mapped[datetime | None]  # the last automated "contact the clinic" text
    stage_changed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LeadStageChange(Base):
    """Every stage a lead went through: who (staff or automation), when and why."""

    __tablename__ = "lead_stage_changes"
    __table_args__ = (Index("ix_lead_stage_changes_lead", "lead_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    from_stage: Mapped[str | None] = mapped_column(String(20))  # None when the lead came in
    to_stage: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(20))  # staff | automation
    actor: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


# --- leads -----------------------------------------------------------------------------------

def get_lead(session: Session, practice_id: int, lead_id: int) -> Lead | None:
    return session.scalar(select(Lead).where(Lead.id == lead_id, Lead.practice_id == practice_id))


def open_lead_by_phone(session: Session, practice_id: int, e164: str) -> Lead | None:
    return session.scalar(select(Lead).where(
        Lead.practice_id == practice_id, Lead.phone_e164 == e164, Lead.stage.in_(_OPEN_VALUES)))


def lead_for_phone(session: Session, practice_id: int, e164: str) -> Lead | None:
    """The lead a text from this phone belongs to: the open one, else the latest closed one."""
    return open_lead_by_phone(session, practice_id, e164) or session.scalar(
        select(Lead).where(Lead.practice_id == practice_id, Lead.phone_e164 == e164)
        .order_by(Lead.id.desc()).limit(1))


def list_leads(session: Session, practice_id: int, *, stage: str | None = None,
               clinic_id: int | None = None, limit: int = 500) -> list[Lead]:
    query = select(Lead).where(Lead.practice_id == practice_id)
    if stage is not None:
        query = query.where(Lead.stage == stage)
    if clinic_id is not None:
        query = query.where(Lead.clinic_id == clinic_id)
    return list(session.scalars(query.order_by(Lead.id.desc()).limit(limit)))


def insert_lead(session: Session, lead: Lead) -> bool:
    """Insert a new lead; False when an open lead with that phone exists (a concurrent twin)."""
    return insert_once(session, lead)


def move_stage(session: Session, lead: Lead, from_stage: LeadStage, to_stage: LeadStage,
               now: datetime) -> bool:
    """Compare-and-set: True only for the one writer that found the lead still in from_stage."""
    result = session.execute(
        update(Lead).where(Lead.id == lead.id, Lead.stage == from_stage.value)
        .values(stage=to_stage.value, stage_changed_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    moved = int(result.rowcount or 0) == 1  # type: ignore[attr-defined]
    session.refresh(lead)
    return moved


def add_stage_change(session: Session, change: LeadStageChange) -> None:
    session.add(change)
    session.flush()


def stage_history(session: Session, practice_id: int, lead_id: int) -> list[LeadStageChange]:
    return list(session.scalars(
        select(LeadStageChange)
        .where(LeadStageChange.practice_id == practice_id, LeadStageChange.lead_id == lead_id)
        .order_by(LeadStageChange.id)))


def claim_redirect(session: Session, lead: Lead, now: datetime, cutoff: datetime) -> bool:
    """Take the lead's redirect turn: True for one writer only, if none went out since cutoff."""
    result = session.execute(
        update(Lead).where(Lead.id == lead.id, or_(Lead.last_redirect_at.is_(None),
                                                   Lead.last_redirect_at <= cutoff))
        .values(last_redirect_at=now).execution_options(synchronize_session=False))
    claimed = int(result.rowcount or 0) == 1  # type: ignore[attr-defined]
    session.refresh(lead)
    return claimed


# --- what the automation looks for ----------------------------------------------------------

def quiet_leads(session: Session, practice_id: int, cutoff: datetime,
                limit: int = 500) -> list[Lead]:
    """Active leads with no activity since `cutoff` or before."""
    return list(session.scalars(
        select(Lead).where(Lead.practice_id == practice_id,
                           Lead.stage.in_([s.value for s in ACTIVE_STAGES]),
                           Lead.last_activity_at <= cutoff)
        .order_by(Lead.id).limit(limit)))


def open_leads_with_bookings(session: Session, practice_id: int,
                             limit: int = 500) -> list[tuple[Lead, Appointment]]:
    """Open leads and the standing appointments booked since they came in, oldest first.

    An appointment counts for a lead when it was booked for the lead, for the patient the lead
    became, or for any patient of the practice with the lead's phone (bookings made elsewhere,
    e.g. imported, find their lead too).
    """
    same_phone = (select(Patient.id)
                  .where(Patient.practice_id == Lead.practice_id,
                         Patient.phone_e164 == Lead.phone_e164)
                  .correlate(Lead).scalar_subquery())
    rows = session.execute(
        select(Lead, Appointment)
        .join(Appointment, Appointment.practice_id == Lead.practice_id)
        .where(Lead.practice_id == practice_id, Lead.stage.in_(_OPEN_VALUES),
               Appointment.status.in_([s.value for s in LIVE]),
               Appointment.created_at >= Lead.created_at,
               or_(Appointment.lead_id == Lead.id, Appointment.patient_id == Lead.patient_id,
                   Appointment.patient_id.in_(same_phone)))
        .order_by(Lead.id, Appointment.created_at, Appointment.id).limit(limit))
    return [(lead, appointment) for lead, appointment in rows]


# --- the lead's thread ----------------------------------------------------------------------

def messages_of_lead(session: Session, practice_id: int, lead_id: int) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.practice_id == practice_id, Message.lead_id == lead_id)
        .order_by(Message.id)))


def unlinked_messages_of_lead(session: Session, practice_id: int, lead_id: int) -> list[Message]:
    """The lead's texts not yet on any patient's record."""
    return list(session.scalars(
        select(Message).where(Message.practice_id == practice_id, Message.lead_id == lead_id,
                              Message.patient_id.is_(None))
        .order_by(Message.id)))


def point_conversation_to_lead(session: Session, practice_id: int, e164: str,
                               lead_id: int) -> None:
    """The thread with this phone now belongs to this lead (if a thread exists yet)."""
    session.execute(
        update(Conversation)
        .where(Conversation.practice_id == practice_id, Conversation.phone_e164 == e164)
        .values(lead_id=lead_id).execution_options(synchronize_session=False))
