"""Who a campaign goes to: audience filters, an uploaded CSV of patient ids or phones, and the
phone checks bulk judging relies on."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.automation import service as automation
from textdesk.campaigns.store import campaigns as campaign_store
from textdesk.campaigns.store.campaigns import Filters
from textdesk.domain.errors import Invalid, NotFound, TooLarge
from textdesk.domain.ids import id_written, is_id
from textdesk.domain.phone import parse_phone
from textdesk.storage import directory as practice_store
from textdesk.storage.models import CampaignAudience, Practice

FILTERS = {"clinic_id", "no_upcoming_appointment", "last_visit_before"}
# An uploaded audience (decision 0143): capped in bytes and rows, parsed before any transaction.
MAX_CSV_BYTES = 500_000
MAX_CSV_ROWS = 50_000
MAX_PHONE_CHARS = 40


def filters(session: Session, practice: Practice, audience: Any) -> Filters:
    if not isinstance(audience, dict):
        raise Invalid("invalid_audience", "audience must be an object of filters.")
    unknown = set(audience) - FILTERS
    if unknown:
        raise Invalid("invalid_audience", f"Unknown filter(s): {', '.join(sorted(unknown))}.",
                      filters=sorted(FILTERS))
    clinic_id = audience.get("clinic_id")
    if clinic_id is not None and (not is_id(clinic_id) or practice_store.get_clinic(
            session, practice.id, clinic_id) is None):
        raise NotFound("clinic_not_found", "No such clinic.")
    upcoming = audience.get("no_upcoming_appointment", False)
    if not isinstance(upcoming, bool):
        raise Invalid("invalid_audience", "no_upcoming_appointment must be true or false.")
    before = audience.get("last_visit_before")
    return Filters(clinic_id=clinic_id, no_upcoming_appointment=upcoming,
                   last_visit_before=_instant(before, "last_visit_before") if before else None)


def start_at(value: Any, now: datetime) -> datetime:
    return _instant(value, "start_at") if value is not None else now


def _instant(value: Any, field: str) -> datetime:
    """An ISO 8601 date or date and time with its offset."""
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise Invalid(f"invalid_{field}", f"{value!r} is not an ISO 8601 date and time.") \
            from exc
    if parsed.tzinfo is None and len(str(value).strip()) > 10:
        raise Invalid(f"invalid_{field}", f"{field} needs a time zone offset.")
    return parsed.replace(tzinfo=parsed.tzinfo or UTC).astimezone(UTC)


def from_csv(base: Filters) -> Filters:
    return replace(base, from_csv=True)


@dataclass(frozen=True)
class AudienceCsv:
    """An uploaded audience, parsed and judged with no database at hand: each row's patient id
    (None when it names none) and phone (E.164, None when it is no phone)."""

    rows: tuple[tuple[int | None, str | None], ...]

    @property
    def ids(self) -> set[int]:
        return {i for i, _ in self.rows if i is not None}

    @property
    def phones(self) -> set[str]:
        return {p for _, p in self.rows if p is not None}


def parse_csv(text: Any, default_country: str) -> AudienceCsv:
    """The CSV (a `patient_id` or a `phone` column) read and checked before any transaction:
    at most MAX_CSV_BYTES and MAX_CSV_ROWS; an id is 1 … 2^63-1 written in ASCII digits."""
    try:
        return _parse_csv(text, default_country)
    except csv.Error as exc:  # e.g. a bare carriage return inside a field
        raise Invalid("invalid_csv", "audience_csv cannot be read as CSV.") from exc


def _parse_csv(text: Any, default_country: str) -> AudienceCsv:
    if not isinstance(text, str) or not text.strip():
        raise Invalid("invalid_csv", "audience_csv must be the CSV's text.")
    if len(text) > MAX_CSV_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_CSV_BYTES:
        raise TooLarge("payload_too_large", f"audience_csv is over {MAX_CSV_BYTES:,} bytes.",
                       field="audience_csv")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {(c or "").strip().lower() for c in reader.fieldnames or ()}
    if not columns & {"patient_id", "phone"}:
        raise Invalid("invalid_csv", "The CSV needs a patient_id or a phone column.")
    rows: list[tuple[int | None, str | None]] = []
    for row in reader:
        if len(rows) >= MAX_CSV_ROWS:
            raise Invalid("invalid_csv", f"The CSV has more than {MAX_CSV_ROWS:,} rows.")
        fields = {(k or "").strip().lower(): v.strip() for k, v in row.items()
                  if isinstance(k, str | None) and isinstance(v, str)}
        written = fields.get("patient_id", "")
        patient_id = id_written(written)
        raw_phone = fields.get("phone", "")
        e164 = (parse_phone(raw_phone, default_country).e164
                if raw_phone and len(raw_phone) <= MAX_PHONE_CHARS else None)
        rows.append((patient_id, e164))
    return AudienceCsv(tuple(rows))


def load_csv(session: Session, practice: Practice, campaign_id: int, audience: AudienceCsv
             ) -> dict[str, int]:
    """The parsed audience matched with two bulk reads; returns the counts.

    A row is its patient when its id is one of the practice's, else every patient with its
    phone; a row that names nobody is unmatched."""
    known = practice_store.existing_patient_ids(session, practice.id, audience.ids)
    by_phone = practice_store.patient_ids_by_phones(session, practice.id, audience.phones)
    ids: set[int] = set()
    unmatched = 0
    for patient_id, e164 in audience.rows:
        found = ([patient_id] if patient_id in known
                 else by_phone.get(e164, []) if e164 is not None else [])
        ids.update(found)
        unmatched += not found
    automation.add_all(session, [CampaignAudience(campaign_id=campaign_id, patient_id=i)
                                 for i in sorted(ids)])
    return {"rows": len(audience.rows), "patients": len(ids), "unmatched": unmatched}


def check_phones(session: Session, practice: Practice, campaign_id: int, audience: Filters,
                 now: datetime) -> None:
    """Check the phones of members whose phone was stored without a check (older rows)."""
    checks = []
    for patient_id, raw in campaign_store.unchecked_phones(session, practice.id, campaign_id,
                                                           audience, now):
        parsed = parse_phone(raw, practice.default_country)
        checks.append({"id": patient_id, "phone_check": parsed.problem.value
                       if parsed.problem else "ok", "phone_region": parsed.region,
                       "phone_e164": parsed.e164})
    campaign_store.record_phone_checks(session, checks)
