"""Who a campaign goes to: audience filters, an uploaded CSV of patient ids or phones, and the
phone checks bulk judging relies on."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.phone import parse_phone
from textdesk.storage import automation as store
from textdesk.storage import campaigns as campaign_store
from textdesk.storage import practices as practice_store
from textdesk.storage.campaigns import CampaignAudience, Filters
from textdesk.storage.models import Practice

FILTERS = {"clinic_id", "no_upcoming_appointment", "last_visit_before"}
MAX_CSV_ROWS = 200_000


def filters(session: Session, practice: Practice, audience: Any) -> Filters:
    if not isinstance(audience, dict):
        raise Invalid("invalid_audience", "audience must be an object of filters.")
    unknown = set(audience) - FILTERS
    if unknown:
        raise Invalid("invalid_audience", f"Unknown filter(s): {', '.join(sorted(unknown))}.",
                      filters=sorted(FILTERS))
    clinic_id = audience.get("clinic_id")
    if clinic_id is not None and (not isinstance(clinic_id, int) or practice_store.get_clinic(
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


def load_csv(session: Session, practice: Practice, campaign_id: int, text: Any
             ) -> dict[str, int]:
    """Patients named by a CSV with a `patient_id` or a `phone` column; returns the counts."""
    if not isinstance(text, str) or not text.strip():
        raise Invalid("invalid_csv", "audience_csv must be the CSV's text.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {(c or "").strip().lower() for c in reader.fieldnames or ()}
    if not columns & {"patient_id", "phone"}:
        raise Invalid("invalid_csv", "The CSV needs a patient_id or a phone column.")
    ids: set[int] = set()
    rows = unmatched = 0
    for row in reader:
        rows += 1
        if rows > MAX_CSV_ROWS:
            raise Invalid("invalid_csv", f"The CSV has more than {MAX_CSV_ROWS:,} rows.")
        found = _patients_of(session, practice, {(k or "").strip().lower(): (v or "").strip()
                                                 for k, v in row.items()})
        ids.update(found)
        unmatched += not found
    store.add_all(session, [CampaignAudience(campaign_id=campaign_id, patient_id=i)
                            for i in sorted(ids)])
    return {"rows": rows, "patients": len(ids), "unmatched": unmatched}


def _patients_of(session: Session, practice: Practice, row: dict[str, str]) -> list[int]:
    if row.get("patient_id", "").isdigit():
        patient = practice_store.get_patient(session, practice.id, int(row["patient_id"]))
        if patient is not None:
            return [patient.id]
    if row.get("phone"):
        e164 = parse_phone(row["phone"], practice.default_country).e164
        if e164:
            return [p.id for p in practice_store.patients_by_phone(session, practice.id, e164)]
    return []


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
