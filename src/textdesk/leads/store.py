"""The leads and lead stage history tables, and their queries, always scoped to a practice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from textdesk.domain.appointments import LIVE
from textdesk.domain.leads import ACTIVE_STAGES, OPEN_STAGES, LeadStage
from textdesk.storage.db import insert_once
from textdesk.storage.models import Appointment, Conversation, Message, Patient
from textdesk.storage.models.leads import Lead, LeadStageChange

_OPEN_VALUES = sorted(s.value for s in OPEN_STAGES)


# --- leads -----------------------------------------------------------------------------------

def get_lead(session: Session, practice_id: int, lead_id: int) -> Lead | None:
    return session.scalar(select(Lead).where(Lead.id == lead_id, Lead.practice_id == practice_id))


def open_lead_by_phone(session: Session, practice_id: int, e164: str) -> Lead | None:
    return session.scalar(select(Lead).where(
        Lead.practice_id == practice_id, Lead.phone_e164 == e164, Lead.stage.in_(_OPEN_VALUES)))


def phones_with_open_leads(session: Session, practice_id: int, phones: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(phones), 500):
        found.update(session.scalars(select(Lead.phone_e164).where(
            Lead.practice_id == practice_id, Lead.phone_e164.in_(phones[start:start + 500]),
            Lead.stage.in_(_OPEN_VALUES))))
    return found


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


def leads_matching(session: Session, practice_id: int, search: str,
                   limit: int = 10) -> list[Lead]:
    """Leads by name, or by phone when the search holds three digits or more."""
    text = (search or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 3:
        match = Lead.phone_e164.contains(digits, autoescape=True)
    else:
        full_name = func.lower(Lead.first_name + " " + Lead.last_name)
        match = full_name.contains(text.lower(), autoescape=True)
    return list(session.scalars(select(Lead).where(Lead.practice_id == practice_id, match)
                                .order_by(Lead.last_name, Lead.first_name).limit(limit)))


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
