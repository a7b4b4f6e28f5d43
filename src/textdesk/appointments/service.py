"""Appointments: book, change and cancel; a booking for a lead's person moves the lead (D4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.appointments import store as appointment_store

# Reads other features make here; the store stays private to this package.
from textdesk.appointments.store import (
    list_for as list_for,
)
from textdesk.automation import reminders
from textdesk.domain import appointments as rules
from textdesk.domain.appointments import AppointmentStatus
from textdesk.domain.errors import Conflict, Invalid, NotFound, choice
from textdesk.leads import automation as lead_automation, service as leads
from textdesk.leads.service import get_lead, link_patient, phones_with_open_leads
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Appointment, Clinic, Lead, Patient, Practice
from textdesk.webhooks import events as webhook_events

BOOKING_FIELDS = {"patient_id", "lead_id", "clinic_id", "start", "provider"}
CHANGE_FIELDS = {"clinic_id", "start", "provider", "status"}


def get(session: Session, practice_id: int, appointment_id: int) -> Appointment:
    appointment = appointment_store.get(session, practice_id, appointment_id)
    if appointment is None:
        raise NotFound("appointment_not_found", "No such appointment.")
    return appointment


def book(session: Session, practice: Practice, data: dict[str, Any],
         now: datetime) -> Appointment:
    """Book for a patient or a lead (a lead becomes, or is linked to, its patient)."""
    _no_unknown(data, BOOKING_FIELDS)
    if data.get("patient_id") is None and data.get("lead_id") is None:
        raise Invalid("invalid_recipient", "Give patient_id or lead_id (or both).")
    start = parse_start(data.get("start"))
    provider = _provider(data.get("provider"))
    lead = get_lead(session, practice.id, data["lead_id"]) if data.get("lead_id") else None
    patient = _patient(session, practice.id, data["patient_id"]) if data.get("patient_id") \
        else None
    clinic = _clinic(session, practice.id, data.get("clinic_id"), lead, patient)
    if patient is not None and lead is None:
        lead = _open_lead_of(session, practice.id, patient)
    if lead is not None:
        patient = link_patient(session, practice, lead, now, patient)
    assert patient is not None
    appointment = appointment_store.add(session, Appointment(
        practice_id=practice.id, clinic_id=clinic.id, patient_id=patient.id,
        lead_id=lead.id if lead else None, start_at=start, provider=provider,
        status=AppointmentStatus.SCHEDULED.value, created_at=now, updated_at=now))
    if lead is not None:
        lead_automation.after_booking(session, practice, lead, appointment, now)
    return appointment


@dataclass(frozen=True)
class Booking:
    """One appointment of a batch booked from the practice's system."""

    patient_id: int
    start_at: datetime  # aware
    provider: str = ""
    clinic_id: int | None = None  # the patient's clinic when None
    confirmed: bool = False


def book_many(session: Session, practice: Practice, bookings: list[Booking],
              now: datetime) -> list[int]:
    """Many bookings at once (an import); ids in the order given. A patient whose phone has an
    open lead is booked through `book` (the lead moves, D4); the others in one INSERT."""
    patients = practice_store.patient_facts(session, practice.id,
                                            (b.patient_id for b in bookings))
    clinics = {c.id for c in practice_store.list_clinics(session, practice.id)}
    with_leads = phones_with_open_leads(
        session, practice.id, sorted({e164 for _c, e164 in patients.values() if e164}))
    ids: list[int | None] = []
    rows: list[dict[str, Any]] = []
    for booking in bookings:
        if booking.patient_id not in patients:
            raise NotFound("patient_not_found", "No such patient.")
        clinic_id, e164 = patients[booking.patient_id]
        if booking.clinic_id is not None and booking.clinic_id not in clinics:
            raise NotFound("clinic_not_found", "No such clinic.")
        status = (AppointmentStatus.CONFIRMED if booking.confirmed
                  else AppointmentStatus.SCHEDULED)
        if e164 in with_leads:
            appointment = book(session, practice, {
                "patient_id": booking.patient_id, "clinic_id": booking.clinic_id,
                "start": booking.start_at.isoformat(), "provider": booking.provider}, now)
            if booking.confirmed:
                appointment.status = status.value
            ids.append(appointment.id)
            continue
        ids.append(None)
        rows.append({"practice_id": practice.id, "clinic_id": booking.clinic_id or clinic_id,
                     "patient_id": booking.patient_id, "lead_id": None,
                     "start_at": booking.start_at.astimezone(UTC),
                     "provider": _provider(booking.provider), "status": status.value,
                     "external_id": None, "created_at": now, "updated_at": now})
    inserted = iter(appointment_store.add_many(session, rows))
    return [found if found is not None else next(inserted) for found in ids]


def update(session: Session, practice: Practice, appointment_id: int,
           changes: dict[str, Any], now: datetime) -> Appointment:
    """Change time, provider, clinic or status; validated in full before anything changes."""
    appointment = get(session, practice.id, appointment_id)
    _no_unknown(changes, CHANGE_FIELDS)
    current = AppointmentStatus(appointment.status)
    status = _status(changes["status"]) if changes.get("status") is not None else None
    if status is not None and status is not current and not rules.can_move(current, status):
        raise Conflict("appointment_status_not_allowed",
                       f"An appointment cannot move from {current.value} to {status.value}.",
                       status=current.value, requested=status.value,
                       allowed=sorted(s.value for s in rules.TRANSITIONS[current]))
    if not rules.TRANSITIONS[current] and set(changes) - {"status"}:
        raise Conflict("appointment_closed", f"A {current.value} appointment cannot change.")
    start = parse_start(changes["start"]) if "start" in changes else None
    provider = _provider(changes["provider"]) if "provider" in changes else None
    clinic = (_clinic(session, practice.id, changes["clinic_id"], None, None)
              if changes.get("clinic_id") is not None else None)
    if start is not None and start != appointment.start_at:
        appointment.start_at = start
        reminders.after_reschedule(session, practice.id, appointment, now)
    if provider is not None:
        appointment.provider = provider
    if clinic is not None:
        appointment.clinic_id = clinic.id
    appointment.updated_at = now
    if status is AppointmentStatus.CANCELLED and current is not status:
        return cancel(session, practice, appointment.id, now)
    if status is not None:
        appointment.status = status.value
        if status is AppointmentStatus.CONFIRMED and current is not status:
            webhook_events.appointment_confirmed(session, appointment, "update", now)
    return appointment


def cancel(session: Session, practice: Practice, appointment_id: int,
           now: datetime) -> Appointment:
    """Cancel (twice is the same as once); a scheduled lead booked only for it goes back."""
    appointment = get(session, practice.id, appointment_id)
    current = AppointmentStatus(appointment.status)
    if current is AppointmentStatus.CANCELLED:
        return appointment
    if not rules.can_move(current, AppointmentStatus.CANCELLED):
        raise Conflict("appointment_status_not_allowed",
                       f"A {current.value} appointment cannot be cancelled.",
                       status=current.value, requested=AppointmentStatus.CANCELLED.value)
    appointment.status = AppointmentStatus.CANCELLED.value
    appointment.updated_at = now
    lead_automation.after_cancellation(session, practice.id, appointment, now)
    reminders.after_cancellation(session, practice.id, appointment, now)
    return appointment


def parse_start(value: Any) -> datetime:
    """An ISO 8601 time with its offset (naive times are refused: whose 9 o'clock?)."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid("invalid_start", "start is required, e.g. 2026-03-10T09:00:00-05:00.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise Invalid("invalid_start", f"{value!r} is not an ISO 8601 date and time.") from exc
    if parsed.tzinfo is None:
        raise Invalid("invalid_start", "start needs a time zone offset, "
                                       "e.g. 2026-03-10T09:00:00-05:00.")
    return parsed.astimezone(UTC)


def _no_unknown(data: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(data) - allowed
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")


def _status(value: Any) -> AppointmentStatus:
    return choice(AppointmentStatus, value, "invalid_status", "appointment status", "statuses")


def _provider(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid("invalid_provider", "provider must be a string.")
    return value.strip()[:100]


def _patient(session: Session, practice_id: int, patient_id: Any) -> Patient:
    patient = practice_store.get_patient(session, practice_id, patient_id)
    if patient is None:
        raise NotFound("patient_not_found", "No such patient.")
    return patient


def _clinic(session: Session, practice_id: int, clinic_id: Any, lead: Lead | None,
            patient: Patient | None) -> Clinic:
    clinic_id = clinic_id or (lead.clinic_id if lead else None) or (
        patient.clinic_id if patient else None)
    clinic = practice_store.get_clinic(session, practice_id, clinic_id) if clinic_id else None
    if clinic is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    return clinic


def _open_lead_of(session: Session, practice_id: int, patient: Patient) -> Lead | None:
    """The open lead with the patient's phone, unless it is already another patient's."""
    if not patient.phone_e164:
        return None
    lead = leads.open_lead_by_phone(session, practice_id, patient.phone_e164)
    return lead if lead is not None and lead.patient_id in (None, patient.id) else None
