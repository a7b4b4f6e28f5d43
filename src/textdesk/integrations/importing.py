"""Applying the practice system's rows here: idempotent upserts keyed by the external id.

The practice system wins for demographics and the schedule; textdesk keeps its own consent
evidence. A Text OK *change* seen there is recorded here through the consent feature (No is an
opt-out with source `practice_system`; Yes an opt-in only where nothing is on record; Unknown
is not consent). A moved appointment is rescheduled and a broken one cancelled through the
appointments feature, which moves or cancels its reminders.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.appointments import service as appointment_service
from textdesk.consent import service as consent_service
from textdesk.domain.appointments import AppointmentStatus, can_move as can_move_appointment
from textdesk.domain.consent import ConsentAction, ConsentSource
from textdesk.domain.errors import AppError
from textdesk.integrations import store
from textdesk.integrations.base import ExternalAppointment, ExternalPatient, ExternalStatus, TextOk
from textdesk.practice import service as practice_service
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Patient, Practice

log = logging.getLogger(__name__)
BOOKABLE = (ExternalStatus.SCHEDULED, ExternalStatus.CONFIRMED)
LOCAL_STATUS = {ExternalStatus.SCHEDULED: AppointmentStatus.SCHEDULED,
                ExternalStatus.CONFIRMED: AppointmentStatus.CONFIRMED,
                ExternalStatus.COMPLETED: AppointmentStatus.COMPLETED}
# Text OK there → the consent fact it is here (Unknown is not consent: nothing).
TEXT_OK_ACTION = {TextOk.NO: ConsentAction.OPT_OUT, TextOk.YES: ConsentAction.OPT_IN}
PRACTICE_SYSTEM_ACTOR = "practice system"


@dataclass
class Context:
    """What one sync of one practice carries from batch to batch: where the system's clinics
    go here (its clinic id → textdesk clinic, else `default`: the connection's clinic, or the
    practice's first when None), and the patients' ids as mapped so far."""

    mapped: dict[str, int]
    default: int | None = None
    patients: dict[str, int] = field(default_factory=dict)  # external id → patient id

    def of(self, external: str) -> int | None:
        return self.mapped.get(external) or self.default


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def apply_patients(session: Session, practice: Practice, system: str, context: Context,
                   page: list[ExternalPatient], now: datetime) -> int:
    """Upsert a batch of patients; returns how many changed here. New patients are written in
    bulk (a few statements a batch); a changed one goes through the practice service."""
    rows = {row.external_id: row for row in page}  # a repeated id: the later reading wins
    known = store.seen(session, practice.id, system, "patient", rows)
    context.patients.update((k, r.local_id) for k, r in known.items())
    new: list[tuple[ExternalPatient, str]] = []
    applied: list[dict[str, object]] = []
    for row in rows.values():
        fingerprint = _fingerprint(row.first_name, row.last_name, row.wireless_phone,
                                   row.text_ok.value, context.of(row.clinic))
        record = known.get(row.external_id)
        if record is None:
            new.append((row, fingerprint))
        elif record.fingerprint != fingerprint:
            patient = _update_patient(session, practice, context, row, record.local_id)
            seen = (_apply_text_ok(session, practice, patient, row.text_ok, record.text_ok,
                                   now) if patient is not None else record.text_ok)
            applied.append({"rid": record.id, "fp": fingerprint, "tok": seen, "at": now})
    store.mark_applied(session, applied)
    if new:
        _create_patients(session, practice, system, context, new, now)
    session.flush()
    return len(new) + len(applied)


def _create_patients(session: Session, practice: Practice, system: str, context: Context,
                     new: list[tuple[ExternalPatient, str]], now: datetime) -> None:
    created = practice_service.create_patients(session, practice, [
        {"first_name": row.first_name, "last_name": row.last_name,
         "wireless_phone": row.wireless_phone or None, "clinic_id": context.of(row.clinic)}
        for row, _f in new], now)
    records: list[dict[str, object]] = []
    facts: list[consent_service.Imported] = []
    for (row, fingerprint), (patient_id, e164) in zip(new, created, strict=True):
        records.append({"practice_id": practice.id, "system": system, "kind": "patient",
                        "external_id": row.external_id, "local_id": patient_id,
                        "fingerprint": fingerprint, "updated_at": now,
                        "text_ok": f"{row.text_ok.value}:{e164}" if e164 else None})
        action = TEXT_OK_ACTION.get(row.text_ok)
        if e164 and action is not None:
            facts.append(consent_service.Imported(e164, action, patient_id,
                                                  _text_ok_note(row.text_ok)))
    store.add_records(session, records)
    context.patients.update((row.external_id, patient_id)
                            for (row, _f), (patient_id, _p) in zip(new, created, strict=True))
    consent_service.record_imported(session, practice.id, facts,
                                    ConsentSource.PRACTICE_SYSTEM, now=now,
                                    actor=PRACTICE_SYSTEM_ACTOR)


def _update_patient(session: Session, practice: Practice, context: Context,
                    row: ExternalPatient, patient_id: int) -> Patient | None:
    """The system wins demographics: names, phone (what was learned about the old one is
    forgotten), clinic."""
    patient = practice_store.get_patient(session, practice.id, patient_id)
    if patient is None:
        return None
    patient.first_name, patient.last_name = row.first_name[:100], row.last_name[:100]
    if (patient.phone_raw or "") != row.wireless_phone:
        practice_service.set_phone(patient, row.wireless_phone or None,
                                   practice.default_country)
    clinic_id = context.of(row.clinic)
    if clinic_id is not None and clinic_id != patient.clinic_id:
        patient.clinic_id = clinic_id
    return patient


def _text_ok_note(text_ok: TextOk) -> str:
    return f"Text OK set to {text_ok.value.capitalize()} in the practice system"


def _apply_text_ok(session: Session, practice: Practice, patient: Patient, text_ok: TextOk,
                   last_seen: str | None, now: datetime) -> str | None:
    """Act on a change of Text OK only; returns what to remember as seen (per phone)."""
    e164 = patient.phone_e164
    if not e164:
        return None  # nothing to record consent for; judged again once a phone is there
    seen = f"{text_ok.value}:{e164}"
    action = TEXT_OK_ACTION.get(text_ok)
    if seen == last_seen or action is None:
        return seen
    consent_service.record_imported(
        session, practice.id, [consent_service.Imported(e164, action, patient.id,
                                                        _text_ok_note(text_ok))],
        ConsentSource.PRACTICE_SYSTEM, now=now, actor=PRACTICE_SYSTEM_ACTOR)
    return seen


def apply_appointments(session: Session, practice: Practice, system: str, context: Context,
                       page: list[ExternalAppointment], now: datetime) -> tuple[int, bool]:
    """Upsert a batch; returns (changed here, whether a patient was not known yet). New
    bookings are written in bulk; a changed one goes through the appointments service."""
    rows = {row.external_id: row for row in page}
    known = store.seen(session, practice.id, system, "appointment", rows)
    patients = dict(context.patients)
    patients.update((k, r.local_id) for k, r in store.seen(
        session, practice.id, system, "patient",
        (a.patient_external_id for a in rows.values() if a.patient_external_id not in patients)
    ).items())
    changed, missing = 0, False
    new: list[tuple[ExternalAppointment, str, int]] = []
    applied: list[dict[str, object]] = []
    for row in rows.values():
        clinic_id = context.mapped.get(row.clinic)
        fingerprint = _fingerprint(row.start_at.isoformat(), row.status.value, row.provider,
                                   clinic_id)
        record = known.get(row.external_id)
        if record is not None and record.fingerprint == fingerprint:
            continue
        if record is None:
            if row.status not in BOOKABLE:
                continue  # nothing to remind of; booked later, it comes again with a new stamp
            patient = patients.get(row.patient_external_id)
            if patient is None:
                missing = True
                continue
            new.append((row, fingerprint, patient))
        else:
            _change(session, practice, record.local_id, row, clinic_id, now)
            applied.append({"rid": record.id, "fp": fingerprint, "tok": None, "at": now})
        changed += 1
    store.mark_applied(session, applied)
    if new:
        ids = appointment_service.book_many(session, practice, [
            appointment_service.Booking(patient_id, row.start_at, row.provider,
                                        context.mapped.get(row.clinic),
                                        row.status is ExternalStatus.CONFIRMED)
            for row, _f, patient_id in new], now)
        store.add_records(session, [
            {"practice_id": practice.id, "system": system, "kind": "appointment",
             "external_id": row.external_id, "local_id": appointment_id,
             "fingerprint": fingerprint, "text_ok": None, "updated_at": now}
            for (row, fingerprint, _p), appointment_id in zip(new, ids, strict=True)])
    session.flush()
    return changed, missing


def _change(session: Session, practice: Practice, appointment_id: int,
            row: ExternalAppointment, clinic_id: int | None, now: datetime) -> None:
    """The schedule there wins: cancel, move, or move the status forward where it may go."""
    try:
        if row.status is ExternalStatus.CANCELLED or row.status is ExternalStatus.IGNORED:
            appointment_service.cancel(session, practice, appointment_id, now)
            return
        current = appointment_service.get(session, practice.id, appointment_id)
        changes: dict[str, object] = {}
        if current.start_at != row.start_at:
            changes["start"] = row.start_at.isoformat()
        if current.provider != row.provider[:100]:
            changes["provider"] = row.provider
        if clinic_id is None:  # no clinic there: the patient's clinic
            patient = practice_store.get_patient(session, practice.id, current.patient_id)
            clinic_id = patient.clinic_id if patient is not None else current.clinic_id
        if current.clinic_id != clinic_id:
            changes["clinic_id"] = clinic_id
        wanted = LOCAL_STATUS[row.status]
        if can_move_appointment(AppointmentStatus(current.status), wanted):
            changes["status"] = wanted.value
        if changes:
            appointment_service.update(session, practice, appointment_id, changes, now)
    except AppError as error:
        # e.g. a completed visit moved there: textdesk's lifecycle refuses, the row waits.
        log.info("appointment %s not changed from the practice system: %s", appointment_id,
                 error.code)


def cancel_deleted(session: Session, practice: Practice, system: str, on_schedule: set[str],
                   since: datetime, now: datetime) -> int:
    """Appointments deleted there (gone from the schedule, so no DateTStamp says so) are
    cancelled here, which cancels their reminders."""
    live = (AppointmentStatus.SCHEDULED.value, AppointmentStatus.CONFIRMED.value)
    cancelled = 0
    for external_id, appointment_id in store.upcoming_mapped(session, practice.id, system,
                                                             since, live):
        if external_id not in on_schedule:
            appointment_service.cancel(session, practice, appointment_id, now)
            cancelled += 1
    return cancelled
