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
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.appointments import service as appointment_service, store as appointment_store
from textdesk.domain.appointments import AppointmentStatus
from textdesk.domain.errors import AppError, Invalid
from textdesk.domain.ids import id_written
from textdesk.domain.schedule import zone
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Appointment, Clinic, Practice

MAX_ROWS = 20_000
MAX_EXTERNAL_ID = 64  # appointments.external_id
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
STATUS_WORDS = {
    "scheduled": AppointmentStatus.SCHEDULED, "booked": AppointmentStatus.SCHEDULED,
    "unconfirmed": AppointmentStatus.SCHEDULED, "confirmed": AppointmentStatus.CONFIRMED,
    "cancelled": AppointmentStatus.CANCELLED, "canceled": AppointmentStatus.CANCELLED,
    "broken": AppointmentStatus.CANCELLED, "completed": AppointmentStatus.COMPLETED,
    "complete": AppointmentStatus.COMPLETED,
}
_SURROGATE = re.compile("[\ud800-\udfff]")
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


@dataclass(frozen=True)
class ParsedRow:
    """A row as written, checked without the database; `problem` is reported after the
    patient and clinic checks, in the order a row has always been judged."""

    number: int
    external_id: str | None
    patient_id: int | None  # None: not written as an id
    patient_written: str
    clinic: str
    start: datetime | None
    provider: str
    status: AppointmentStatus | None
    problem: AppError | None


@dataclass(frozen=True)
class ParsedCsv:
    rows: tuple[ParsedRow, ...]


def parse(text: Any, timezone: str) -> ParsedCsv:
    """The whole file read and checked before any transaction opens (decision 0143)."""
    try:
        return _parse(text, timezone)
    except csv.Error as exc:  # e.g. a bare carriage return inside a field
        raise Invalid("invalid_csv", "The CSV cannot be read as CSV.") from exc


def _parse(text: Any, timezone: str) -> ParsedCsv:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("invalid_csv", "Send the CSV as the request body (text/csv).")
    if "\x00" in text or _SURROGATE.search(text):
        raise Invalid("invalid_csv", "The CSV holds a NUL or a character that is not text.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    names = {(n or "").strip().lower() for n in reader.fieldnames or ()}
    missing = {"patient", "start"} - names
    if missing:
        raise Invalid("invalid_csv", f"The CSV lacks the column(s) {', '.join(sorted(missing))}.",
                      columns=["id", "patient", "clinic", "start", "provider", "status"])
    rows: list[ParsedRow] = []
    for number, raw in enumerate(reader, start=1):
        if number > MAX_ROWS:
            raise Invalid("invalid_csv", f"The CSV has more than {MAX_ROWS:,} rows.")
        fields = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()
                  if isinstance(v, str)}
        rows.append(_parse_row(number, fields, timezone))
    return ParsedCsv(tuple(rows))


def _parse_row(number: int, fields: dict[str, str], timezone: str) -> ParsedRow:
    written = fields.get("patient", "")
    patient_id = id_written(written)
    problem: AppError | None = None
    status = STATUS_WORDS.get(fields.get("status", "").lower() or "scheduled")
    start: datetime | None = None
    external_id = fields.get("id") or None
    if status is None:
        problem = Invalid("invalid_status", f"Unknown status {fields.get('status', '')[:40]!r}.")
    else:
        try:
            start = _start(fields.get("start", ""), timezone)
        except AppError as error:
            problem = error
    if problem is None and external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
        problem = Invalid("invalid_id", f"An appointment id is at most {MAX_EXTERNAL_ID} "
                                        "characters.")
    return ParsedRow(number, external_id, patient_id, written[:40], fields.get("clinic", ""),
                     start, fields.get("provider", "")[:100], status, problem)


def import_csv(session: Session, practice: Practice, parsed: ParsedCsv, now: datetime
               ) -> dict[str, int]:
    rows, errors = read(session, practice, parsed)
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


def read(session: Session, practice: Practice, parsed: ParsedCsv
         ) -> tuple[list[Row], list[dict[str, Any]]]:
    """The parsed rows matched to the practice's patients and clinics in a few bulk reads."""
    clinics_of = practice_store.patient_clinics(
        session, practice.id, {r.patient_id for r in parsed.rows if r.patient_id is not None})
    clinics = practice_store.list_clinics(session, practice.id)
    rows: list[Row] = []
    errors: list[dict[str, Any]] = []
    for parsed_row in parsed.rows:
        try:
            rows.append(_row(parsed_row, clinics_of, clinics))
        except AppError as error:
            errors.append({"row": parsed_row.number, "error": error.code,
                           "message": error.message})
    return rows, errors


def _row(row: ParsedRow, clinics_of: dict[int, int], clinics: list[Clinic]) -> Row:
    patient_clinic = clinics_of.get(row.patient_id) if row.patient_id is not None else None
    if row.patient_id is None or patient_clinic is None:
        raise Invalid("patient_not_found", f"No patient {row.patient_written!r}.")
    clinic_id = _clinic(clinics, row.clinic, patient_clinic)
    if row.problem is not None:
        raise row.problem
    assert row.start is not None and row.status is not None
    return Row(row.number, row.external_id, row.patient_id, clinic_id, row.start, row.provider,
               row.status)


def _clinic(clinics: list[Clinic], value: str, default: int) -> int:
    if not value:
        return default
    for clinic in clinics:
        if value == str(clinic.id) or value.lower() == clinic.name.lower():
            return clinic.id
    raise Invalid("clinic_not_found", f"No clinic {value[:200]!r}.")


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
        raise Invalid("invalid_start", f"{value[:40]!r} is not a date and time.")
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise Invalid("invalid_start", f"{value[:40]!r} is not between {EARLIEST_YEAR} and "
                                       f"{LATEST_YEAR}.")
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
