"""Patients from a CSV file, as any practice-management system exports one.

Three steps, so that nothing is half-written and no write waits on parsing: `parse` (bytes →
header and rows, capped in bytes and rows, pure), `judge` (each row checked and named by its
line, pure), then `apply` in one transaction: reads what is there (clinics, patients already
imported), and either reports (a dry run, or any bad row: nothing written) or writes it all.

Headers are matched by meaning (`first name`, `FName`, `Given` → first_name …); the map is
shown before commit. Consent is imported only with evidence: a `consent_method` column (how:
written, web_form, verbal, text…; or opted_out) and a `consent_at` column (when). An opt-in
is recorded only where nothing is on record here; an opt-out always (never over a STOP).
Rows with an `external_id` are matched to the ones imported before (a second import updates);
rows without one to a patient with the same phone and name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.consent import service as consent_service
from textdesk.domain.consent import ConsentAction, ConsentSource
from textdesk.domain.errors import Invalid
from textdesk.domain.phone import PhoneProblem, parse_phone
from textdesk.domain.schedule import zone
from textdesk.integrations import store
from textdesk.practice import service as practice_service
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Practice

MAX_BYTES = 1_000_000
MAX_ROWS = 10_000
SYSTEM = "csv"  # external_records.system of patients imported from a file
FIELDS = ("first_name", "last_name", "wireless_phone", "external_id", "clinic",
          "consent_method", "consent_at")
# A header, lower-cased with spaces, dashes and underscores removed → the field it fills.
HEADERS = {
    **dict.fromkeys(("firstname", "first", "fname", "given", "givenname", "preferred"),
                    "first_name"),
    **dict.fromkeys(("lastname", "last", "lname", "surname", "family", "familyname"),
                    "last_name"),
    **dict.fromkeys(("wirelessphone", "mobile", "mobilephone", "cell", "cellphone", "phone",
                     "mobilenumber", "cellnumber", "sms", "textphone"), "wireless_phone"),
    **dict.fromkeys(("externalid", "id", "patnum", "patientid", "patientnumber", "chart",
                     "chartnumber", "mrn", "accountnumber"), "external_id"),
    **dict.fromkeys(("clinic", "clinicname", "clinicid", "location", "office"), "clinic"),
    **dict.fromkeys(("consentmethod", "consentsource", "consenthow", "consent", "textconsent",
                     "howconsented"), "consent_method"),
    **dict.fromkeys(("consentat", "consentdate", "consentedat", "consentedon", "consenttime",
                     "consentwhen"), "consent_at"),
}
# What a `consent_method` cell may say → what it records (the words go in the evidence note).
METHODS = {
    **dict.fromkeys(("written", "paper", "signed", "form", "intake"), ConsentAction.OPT_IN),
    **dict.fromkeys(("webform", "web", "online", "portal", "email"), ConsentAction.OPT_IN),
    **dict.fromkeys(("verbal", "spoken", "phone", "call", "inperson"), ConsentAction.OPT_IN),
    **dict.fromkeys(("text", "sms", "keyword", "start"), ConsentAction.OPT_IN),
    **dict.fromkeys(("optedout", "optout", "stop", "declined", "no", "revoked"),
                    ConsentAction.OPT_OUT),
}
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y",
                "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p")
REFUSED_PHONES = (PhoneProblem.UNPARSEABLE, PhoneProblem.INVALID)


def _key(text: str) -> str:
    return re.sub(r"[\s_\-./]+", "", text.strip().lower())


@dataclass(frozen=True)
class Column:
    header: str
    field: str | None  # None: not imported


@dataclass(frozen=True)
class Parsed:
    columns: list[Column]
    rows: list[tuple[int, dict[str, str]]]  # (line in the file, field → cell)
    problems: list[dict[str, Any]]  # rows refused while reading (e.g. too many cells)


@dataclass(frozen=True)
class Row:
    line: int
    first_name: str
    last_name: str
    phone: str
    e164: str | None
    external_id: str
    clinic: str
    consent: tuple[ConsentAction, str, datetime] | None  # (action, method words, when)


@dataclass
class Judged:
    columns: list[Column]
    rows: list[Row]
    problems: list[dict[str, Any]] = field(default_factory=list)


def parse(raw: bytes) -> Parsed:
    """The file's header and rows; a file that cannot be read at all is refused (4xx)."""
    if len(raw) > MAX_BYTES:
        raise Invalid("csv_too_large", f"A CSV file has at most {MAX_BYTES:,} bytes.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("csv_not_utf8", "The CSV must be UTF-8 text (save it as CSV UTF-8)."
                      ) from exc
    if "\x00" in text or not text.strip():
        raise Invalid("csv_empty", "The CSV is empty (or not text).")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise Invalid("csv_unreadable", f"The CSV cannot be read: {exc}.") from exc
    columns = [Column(h.strip()[:100], HEADERS.get(_key(h))) for h in header]
    fields = [c.field for c in columns if c.field]
    doubled = sorted({f for f in fields if fields.count(f) > 1})
    if doubled:
        raise Invalid("csv_duplicate_column", f"Two columns fill {', '.join(doubled)}: keep "
                      "one of them.", columns=[c.__dict__ for c in columns])
    if "first_name" not in fields:
        raise Invalid("csv_no_first_name", "No column holds the first name (e.g. a header "
                      "\"first_name\").", columns=[c.__dict__ for c in columns])
    rows: list[tuple[int, dict[str, str]]] = []
    problems: list[dict[str, Any]] = []
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(rows) + len(problems) >= MAX_ROWS:
                raise Invalid("csv_too_many_rows", f"A CSV has at most {MAX_ROWS:,} rows.")
            if len(cells) > len(columns):
                problems.append(_problem(start, "too_many_cells", f"{len(cells)} cells for "
                                         f"{len(columns)} columns (a comma not in quotes?)."))
                continue
            rows.append((start, {c.field: cells[i].strip() for i, c in enumerate(columns)
                                 if c.field and i < len(cells)}))
    except csv.Error as exc:
        raise Invalid("csv_unreadable", f"The CSV cannot be read after line {line}: {exc}."
                      ) from exc
    return Parsed(columns, rows, problems)


def _problem(line: int, code: str, message: str) -> dict[str, Any]:
    return {"line": line, "error": code, "message": message}


def judge(parsed: Parsed, default_country: str, timezone: str, now: datetime) -> Judged:
    """Every row checked on its own and against the file (a repeated id); pure."""
    judged = Judged(parsed.columns, [], list(parsed.problems))
    seen_ids: dict[str, int] = {}
    for line, cells in parsed.rows:
        try:
            row = _row(line, cells, default_country, timezone, now)
        except Invalid as error:
            judged.problems.append(_problem(line, error.code, error.message))
            continue
        if row.external_id:
            if row.external_id in seen_ids:
                judged.problems.append(_problem(line, "duplicate_external_id",
                                                f"The id is on line {seen_ids[row.external_id]} "
                                                "too."))
                continue
            seen_ids[row.external_id] = line
        judged.rows.append(row)
    judged.problems.sort(key=lambda p: p["line"])
    return judged


def _row(line: int, cells: dict[str, str], country: str, timezone: str,
         now: datetime) -> Row:
    first = cells.get("first_name", "")
    if not first:
        raise Invalid("missing_first_name", "The first name is empty.")
    if len(first) > 100 or len(cells.get("last_name", "")) > 100:
        raise Invalid("name_too_long", "A name has at most 100 characters.")
    if len(cells.get("external_id", "")) > 64:
        raise Invalid("external_id_too_long", "An id has at most 64 characters.")
    phone = cells.get("wireless_phone", "")
    parsed = parse_phone(phone, country)
    if phone and parsed.problem in REFUSED_PHONES:
        raise Invalid(parsed.problem.value, parsed.detail or "The phone cannot be read.")
    return Row(line, first, cells.get("last_name", ""), phone, parsed.e164,
               cells.get("external_id", ""), cells.get("clinic", ""),
               _consent(cells, parsed.e164, timezone, now))


def _consent(cells: dict[str, str], e164: str | None, timezone: str,
             now: datetime) -> tuple[ConsentAction, str, datetime] | None:
    method, when = cells.get("consent_method", ""), cells.get("consent_at", "")
    if not method and not when:
        return None
    if not method or not when:
        raise Invalid("consent_without_evidence", "Consent needs both how (consent_method) "
                      "and when (consent_at); nothing else counts as consent.")
    action = METHODS.get(_key(method))
    if action is None:
        raise Invalid("invalid_consent_method", f"{method[:40]!r} is not a consent method "
                      "(written, web_form, verbal, text, or opted_out).")
    at = _when(when, timezone)
    if at is None:
        raise Invalid("invalid_consent_at", f"{when[:40]!r} is not a date (e.g. 2025-05-01 "
                      "or 05/01/2025 14:30).")
    if at > now:
        raise Invalid("consent_in_future", "consent_at is later than now.")
    if not e164:
        raise Invalid("consent_without_phone", "Consent is given for a phone: the row has "
                      "none that can be read.")
    return action, method[:40], at


def _when(text: str, timezone: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(timezone))
    return parsed.astimezone(UTC)


@dataclass
class Outcome:
    columns: list[Column]
    rows: int
    created: int
    updated: int
    unchanged: int
    consents: int  # consent facts the file brings (recorded where they change something)
    problems: list[dict[str, Any]]
    committed: bool


def apply(session: Session, practice: Practice, judged: Judged, now: datetime, *,
          commit: bool) -> Outcome:
    """One transaction: what the file would do (dry run), or all of it; any bad row on a
    commit refuses the whole file (422 `invalid_import`, every bad row named)."""
    problems = list(judged.problems)
    clinics = _clinics(session, practice)
    by_id = store.seen(session, practice.id, SYSTEM, "patient",
                       (r.external_id for r in judged.rows if r.external_id))
    matches = _same_people(session, practice, [r for r in judged.rows if not r.external_id])
    plans: list[tuple[Row, int | None, int | None]] = []  # (row, clinic id, patient id)
    for row in judged.rows:
        clinic_id = clinics.get(row.clinic.lower()) if row.clinic else None
        if row.clinic and clinic_id is None:
            problems.append(_problem(row.line, "clinic_not_found",
                                     f"No clinic {row.clinic[:60]!r} in this practice."))
            continue
        known = by_id.get(row.external_id) if row.external_id else None
        plans.append((row, clinic_id, known.local_id if known else matches.get(row.line)))
    problems.sort(key=lambda p: p["line"])
    new = [p for p in plans if p[2] is None]
    outcome = Outcome(judged.columns, len(judged.rows) + len(judged.problems), len(new), 0, 0,
                      sum(1 for r in judged.rows if r.consent), problems, False)
    changed = [p for p in plans if p[2] is not None and _differs(session, practice, *p)]
    outcome.updated = len(changed)
    outcome.unchanged = len(plans) - len(new) - len(changed)
    if problems and commit:
        raise Invalid("invalid_import", f"{len(problems)} row(s) cannot be imported; nothing "
                      "was imported.", errors=problems,
                      columns=[c.__dict__ for c in judged.columns])
    if not commit:
        return outcome
    ids = _write(session, practice, new, changed, now) + [
        (plan, plan[2]) for plan in plans if plan[2] is not None]
    facts = [consent_service.Imported(row.e164, row.consent[0], patient_id,
                                      f"Consent from the practice's records ({row.consent[1]}, "
                                      f"{row.consent[2].isoformat()}), imported from a CSV "
                                      "file")
             for (row, _c, _p), patient_id in ids if row.consent and row.e164]
    consent_service.record_imported(session, practice.id, facts, ConsentSource.IMPORT,
                                    now=now, actor="CSV import")
    outcome.committed = True
    return outcome


def _clinics(session: Session, practice: Practice) -> dict[str, int]:
    found: dict[str, int] = {}
    for clinic in practice_store.list_clinics(session, practice.id):
        found[str(clinic.id)] = clinic.id
        found.setdefault(clinic.name.strip().lower(), clinic.id)
    return found


def _same_people(session: Session, practice: Practice, rows: Iterable[Row]) -> dict[int, int]:
    """Line → the patient with the same phone and name (rows without an id)."""
    found: dict[int, int] = {}
    for row in rows:
        if not row.e164:
            continue
        for patient in practice_store.patients_by_phone(session, practice.id, row.e164):
            if (patient.first_name.lower(), patient.last_name.lower()) == (
                    row.first_name.lower(), row.last_name.lower()):
                found[row.line] = patient.id
                break
    return found


def _differs(session: Session, practice: Practice, row: Row, clinic_id: int | None,
             patient_id: int | None) -> bool:
    patient = practice_store.get_patient(session, practice.id, patient_id or 0)
    return patient is not None and (
        (patient.first_name, patient.last_name, patient.phone_raw or "") !=
        (row.first_name, row.last_name, row.phone)
        or (clinic_id is not None and clinic_id != patient.clinic_id))


def _write(session: Session, practice: Practice, new: list[tuple[Row, int | None, int | None]],
           changed: list[tuple[Row, int | None, int | None]], now: datetime
           ) -> list[tuple[tuple[Row, int | None, int | None], int]]:
    created = practice_service.create_patients(session, practice, [
        {"first_name": row.first_name, "last_name": row.last_name,
         "wireless_phone": row.phone or None, "clinic_id": clinic_id}
        for row, clinic_id, _p in new], now)
    store.add_records(session, [
        {"practice_id": practice.id, "system": SYSTEM, "kind": "patient",
         "external_id": row.external_id, "local_id": patient_id, "fingerprint": "",
         "text_ok": None, "updated_at": now}
        for (row, _c, _p), (patient_id, _e) in zip(new, created, strict=True)
        if row.external_id])
    for row, clinic_id, patient_id in changed:
        patient = practice_store.get_patient(session, practice.id, patient_id or 0)
        assert patient is not None
        patient.first_name, patient.last_name = row.first_name, row.last_name
        if (patient.phone_raw or "") != row.phone:
            practice_service.set_phone(patient, row.phone or None, practice.default_country)
        if clinic_id is not None:
            patient.clinic_id = clinic_id
    return [(plan, patient_id) for plan, (patient_id, _e) in zip(new, created, strict=True)]
