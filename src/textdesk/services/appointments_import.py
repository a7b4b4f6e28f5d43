"""Importing appointments from a practice management system's CSV export.

Columns: `patient` (textdesk patient id), `clinic` (id or name; the patient's clinic when
empty), `start` (ISO 8601 with an offset, or a local date and time read in the practice's time
zone), `provider`, `status`, and optionally `id`, the system's own appointment id, so that the
next export updates the same appointments instead of adding them again. Every row goes through
the appointments service, so a cancelled appointment cancels its pending texts and a moved one
gets its reminders again. A file with any bad row changes nothing: every bad row is reported.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.appointments import AppointmentStatus
from textdesk.domain.errors import AppError, Invalid
from textdesk.domain.schedule import zone
from textdesk.services import appointments as appointment_service
from textdesk.storage import appointments as appointment_store
from textdesk.storage import practices as practice_store
from textdesk.storage.appointments import Appointment
from textdesk.storage.models import Practice

MAX_ROWS = 50_000
STATUS_WORDS = {
    "scheduled": AppointmentStatus.SCHEDULED, "booked": AppointmentStatus.SCHEDULED,
    "unconfirmed": AppointmentStatus.SCHEDULED, "confirmed": AppointmentStatus.CONFIRMED,
    "cancelled": AppointmentStatus.CANCELLED, "canceled": AppointmentStatus.CANCELLED,
    "broken": AppointmentStatus.CANCELLED, "completed": AppointmentStatus.COMPLETED,
    "complete": AppointmentStatus.COMPLETED,
}
LOCAL_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
                 "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p")


@dataclass(frozen=True)
class Row:
    number: int  # 1-based data row, as a spreadsheet shows it after the header
    external_id: str | None
    patient_id: int
    clinic_id: int
    start: datetime
    provider: str
    status: AppointmentStatus


def import_csv(session: Session, practice: Practice, text: str, now: datetime
               ) -> dict[str, int]:
    rows, errors = read(session, practice, text)
    counts = {"rows": len(rows) + len(errors), "created": 0, "updated": 0, "cancelled": 0,
              "unchanged": 0}
    for row in rows:
        try:
            counts[_apply(session, practice, row, now)] += 1
        except AppError as error:
            errors.append({"row": row.number, "error": error.code, "message": error.message})
    if errors:
        # Raising rolls the request's transaction back: a bad file changes nothing.
        raise Invalid("invalid_import", f"{len(errors)} row(s) cannot be imported; nothing "
                      "was imported.", errors=sorted(errors, key=lambda e: e["row"]))
    return counts


def read(session: Session, practice: Practice, text: Any
         ) -> tuple[list[Row], list[dict[str, Any]]]:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("invalid_csv", "Send the CSV as the request body (text/csv).")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    names = {(n or "").strip().lower() for n in reader.fieldnames or ()}
    missing = {"patient", "start"} - names
    if missing:
        raise Invalid("invalid_csv", f"The CSV lacks the column(s) {', '.join(sorted(missing))}.",
                      columns=["id", "patient", "clinic", "start", "provider", "status"])
    rows: list[Row] = []
    errors: list[dict[str, Any]] = []
    for number, raw in enumerate(reader, start=1):
        if number > MAX_ROWS:
            raise Invalid("invalid_csv", f"The CSV has more than {MAX_ROWS:,} rows.")
        fields = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
                  if isinstance(v, str)}
        try:
            rows.append(_row(session, practice, number, fields))
        except AppError as error:
            errors.append({"row": number, "error": error.code, "message": error.message})
    return rows, errors


def _row(session: Session, practice: Practice, number: int, fields: dict[str, str]) -> Row:
    patient = (practice_store.get_patient(session, practice.id, int(fields["patient"]))
               if fields.get("patient", "").isdigit() else None)
    if patient is None:
        raise Invalid("patient_not_found", f"No patient {fields.get('patient')!r}.")
    clinic_id = _clinic(session, practice, fields.get("clinic", ""), patient.clinic_id)
    status = STATUS_WORDS.get(fields.get("status", "").lower() or "scheduled")
    if status is None:
        raise Invalid("invalid_status", f"Unknown status {fields.get('status')!r}.")
    return Row(number, fields.get("id") or None, patient.id, clinic_id,
               _start(fields.get("start", ""), practice.timezone),
               fields.get("provider", "")[:100], status)


def _clinic(session: Session, practice: Practice, value: str, default: int) -> int:
    if not value:
        return default
    for clinic in practice_store.list_clinics(session, practice.id):
        if value == str(clinic.id) or value.lower() == clinic.name.lower():
            return clinic.id
    raise Invalid("clinic_not_found", f"No clinic {value!r}.")


def _start(value: str, timezone: str) -> datetime:
    """With an offset as given; without one, the practice's local wall clock (DST-correct)."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
        for fmt in LOCAL_FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise Invalid("invalid_start", f"{value!r} is not a date and time.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(timezone))
    return parsed.astimezone(UTC)


def _apply(session: Session, practice: Practice, row: Row, now: datetime) -> str:
    existing = (appointment_store.by_external_id(session, practice.id, row.external_id)
                if row.external_id else None)
    if existing is None:
        appointment = appointment_service.book(session, practice, {
            "patient_id": row.patient_id, "clinic_id": row.clinic_id,
            "start": row.start.isoformat(), "provider": row.provider}, now)
        appointment.external_id = row.external_id
        if row.status is not AppointmentStatus.SCHEDULED:
            _set_status(session, practice, appointment, row.status, now)
        return "cancelled" if row.status is AppointmentStatus.CANCELLED else "created"
    return _update(session, practice, existing, row, now)


def _update(session: Session, practice: Practice, appointment: Appointment, row: Row,
            now: datetime) -> str:
    changes: dict[str, Any] = {}
    if appointment.start_at != row.start:
        changes["start"] = row.start.isoformat()
    if appointment.provider != row.provider:
        changes["provider"] = row.provider
    if appointment.clinic_id != row.clinic_id:
        changes["clinic_id"] = row.clinic_id
    if changes and appointment.status not in (AppointmentStatus.CANCELLED,
                                              AppointmentStatus.COMPLETED):
        appointment_service.update(session, practice, appointment.id, changes, now)
    if appointment.status != row.status:
        _set_status(session, practice, appointment, row.status, now)
        return "cancelled" if row.status is AppointmentStatus.CANCELLED else "updated"
    return "updated" if changes else "unchanged"


def _set_status(session: Session, practice: Practice, appointment: Appointment,
                status: AppointmentStatus, now: datetime) -> None:
    appointment_service.update(session, practice, appointment.id, {"status": status.value}, now)
