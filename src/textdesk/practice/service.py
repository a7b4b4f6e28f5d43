"""Setting up a practice: practices, tokens, clinics, sending numbers, patients."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy.orm import Session

from textdesk.carriers.twilio import is_messaging_service_sid
from textdesk.domain.consent import KeywordOwner
from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.phone import PhoneProblem, parse_phone
from textdesk.domain.signin import hash_token
from textdesk.lookups import service as lookups
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Clinic, Patient, Practice, SendingNumber

NUMBER_KINDS = ("local", "toll_free", "short_code", "hosted_landline")
REGISTRATION_STATUSES = ("none", "pending", "approved", "rejected")
URL_POLICIES = ("allow", "warn", "block")


def create_practice(session: Session, name: str, now: datetime) -> tuple[Practice, str]:
    name = (name or "").strip()
    if not name:
        raise Invalid("invalid_name", "A practice needs a name.")
    token = "td_" + secrets.token_urlsafe(32)
    practice = Practice(name=name[:200], api_token_hash=hash_token(token), sms_enabled=False,
                        default_country="US", allowed_countries=["US", "CA", "PR"],
                        url_policy="warn", quiet_start="08:00", quiet_end="21:00",
                        timezone="America/New_York", settings={}, created_at=now)
    session.add(practice)
    session.flush()
    return practice, token


def update_practice(session: Session, practice: Practice, changes: dict[str, Any]) -> Practice:
    """Validate every field first, then apply them all: bad input changes nothing."""
    updates: dict[str, Any] = {}
    settings = dict(practice.settings or {})
    for key, value in changes.items():
        if key in PRACTICE_SETTINGS:
            settings[key] = PRACTICE_SETTINGS[key](value)
            updates["settings"] = settings  # a new dict: the JSON column sees the change
        else:
            updates.update(_validated_practice_field(key, value))
    for key, value in updates.items():
        setattr(practice, key, value)
    return practice


MAX_LOOKUP_BUDGET = 10_000_000


def _lookup_budget(value: Any) -> int | None:
    """A practice's own lookups a month; None falls back to the deployment's budget."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 0 <= value <= MAX_LOOKUP_BUDGET:
        raise Invalid("invalid_lookup_monthly_budget",
                      f"lookup_monthly_budget must be a whole number from 0 to "
                      f"{MAX_LOOKUP_BUDGET:,}, or null.", field="lookup_monthly_budget")
    return value


# Settings kept in the practice's `settings` object, each with its check.
PRACTICE_SETTINGS = {"lookup_monthly_budget": _lookup_budget}


def _validated_practice_field(key: str, value: Any) -> dict[str, Any]:
    if key == "sms_enabled":
        if not isinstance(value, bool):
            raise Invalid("invalid_sms_enabled", "sms_enabled must be true or false.")
        return {key: value}
    if key == "default_country":
        return {key: _country(value)}
    if key == "allowed_countries":
        if not isinstance(value, list) or not value:
            raise Invalid("invalid_allowed_countries", "allowed_countries must be a list.")
        return {key: sorted({_country(v) for v in value})}
    if key == "url_policy":
        if value not in URL_POLICIES:
            raise Invalid("invalid_url_policy", f"url_policy must be one of {URL_POLICIES}.")
        return {key: value}
    if key == "quiet_hours":
        if not isinstance(value, dict):
            raise Invalid("invalid_quiet_hours", "quiet_hours must be {start, end}.")
        return {"quiet_start": _hhmm(value.get("start")), "quiet_end": _hhmm(value.get("end"))}
    if key == "timezone":
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise Invalid("invalid_timezone", f"Unknown time zone {value!r}.") from exc
        return {key: value}
    if key in ("office_phone",):
        parsed = parse_phone(value)
        if parsed.problem is not None:
            raise Invalid("invalid_office_phone", parsed.detail or "invalid phone")
        return {key: parsed.e164}
    if key == "link_domain":
        return {key: (str(value).strip().lower() or None) if value else None}
    if key == "name":
        if not isinstance(value, str) or not value.strip():
            raise Invalid("invalid_name", "name must be a non-empty string.")
        return {key: value.strip()[:200]}
    raise Invalid("unknown_field", f"Unknown practice setting {key!r}.")


def _country(value: Any) -> str:
    code = str(value or "").upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise Invalid("invalid_country", f"Unknown country code {value!r}.")
    return code


def _hhmm(value: Any) -> str:
    text = str(value or "")
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError as exc:
        raise Invalid("invalid_quiet_hours", f"{value!r} is not HH:MM.") from exc
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise Invalid("invalid_quiet_hours", f"{value!r} is not HH:MM.")
    return f"{hours:02d}:{minutes:02d}"


def money(value: Any, field: str = "monthly_limit_usd") -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise Invalid(f"invalid_{field}", f"{field} must be a number.") from exc
    if not amount.is_finite() or amount < 0:
        raise Invalid(f"invalid_{field}", f"{field} must be zero or more.")
    return amount


def create_clinic(session: Session, practice: Practice, name: str, phone: str | None,
                  monthly_limit_usd: Any, now: datetime) -> Clinic:
    if not isinstance(name, str) or not name.strip():
        raise Invalid("invalid_name", "A clinic needs a name.")
    clinic_phone = None
    if phone:
        parsed = parse_phone(phone, practice.default_country)
        if parsed.problem is not None:
            raise Invalid("invalid_phone", parsed.detail or "invalid phone")
        clinic_phone = parsed.e164
    clinic = Clinic(practice_id=practice.id, name=name.strip()[:200], phone=clinic_phone,
                    monthly_limit_usd=money(monthly_limit_usd), created_at=now)
    session.add(clinic)
    session.flush()
    return clinic


def set_clinic_limit(session: Session, practice: Practice, clinic_id: int,
                     monthly_limit_usd: Any) -> Clinic:
    """Change a clinic's monthly spending limit (None: no limit) (A4)."""
    clinic = practice_store.get_clinic(session, practice.id, clinic_id)
    if clinic is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    clinic.monthly_limit_usd = money(monthly_limit_usd)
    return clinic


def add_number(session: Session, practice: Practice, clinic_id: int, e164: str, kind: str,
               now: datetime) -> SendingNumber:
    clinic = practice_store.get_clinic(session, practice.id, clinic_id)
    if clinic is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    if kind not in NUMBER_KINDS:
        raise Invalid("invalid_number_kind", f"kind must be one of {NUMBER_KINDS}.")
    parsed = parse_phone(e164, practice.default_country)
    # A sending number need not be wireless: toll-free numbers and hosted landlines text.
    if parsed.e164 is None or parsed.problem not in (None, PhoneProblem.LANDLINE):
        raise Invalid("invalid_number", parsed.detail or "invalid number")
    if practice_store.number_by_e164(session, parsed.e164) is not None:
        raise Invalid("number_taken", "That number is already in use.")
    number = SendingNumber(
        practice_id=practice.id, clinic_id=clinic.id, e164=parsed.e164, kind=kind,
        status="pending_verification" if kind == "hosted_landline" else "active",
        registration_status="none", takes_replies=True, created_at=now)
    session.add(number)
    session.flush()
    return number


NUMBER_FIELDS = ("keyword_replies", "messaging_service_sid", "takes_replies")


def update_number(session: Session, practice: Practice, number_id: int,
                  changes: dict[str, Any]) -> SendingNumber:
    """Who answers keywords on the number, the messaging service it sends through, whether it
    takes replies. Every field is checked first: bad input changes nothing."""
    number = practice_store.get_number(session, number_id)
    if number is None or number.practice_id != practice.id:
        raise NotFound("number_not_found", "No such number.")
    unknown = set(changes) - set(NUMBER_FIELDS)
    if unknown:
        raise Invalid("unknown_field", f"Unknown number setting(s): {', '.join(sorted(unknown))}.")
    updates: dict[str, Any] = {}
    if "keyword_replies" in changes:
        value = changes["keyword_replies"]
        if value not in {o.value for o in KeywordOwner}:
            raise Invalid("invalid_keyword_replies",
                          "keyword_replies must be carrier or textdesk.", field="keyword_replies")
        updates["keyword_replies"] = value
    if "messaging_service_sid" in changes:
        sid = changes["messaging_service_sid"]
        if sid is not None and not (isinstance(sid, str) and is_messaging_service_sid(sid)):
            raise Invalid("invalid_messaging_service_sid",
                          "messaging_service_sid must be MG followed by 32 hex digits, or null.",
                          field="messaging_service_sid")
        owner = practice_store.number_by_messaging_service(session, sid) if sid else None
        if owner is not None and owner.practice_id != practice.id:
            raise Invalid("messaging_service_taken",
                          "That messaging service sends for another practice.",
                          field="messaging_service_sid")
        updates["messaging_service_sid"] = sid
    if "takes_replies" in changes:
        if not isinstance(changes["takes_replies"], bool):
            raise Invalid("invalid_takes_replies", "takes_replies must be true or false.",
                          field="takes_replies")
        updates["takes_replies"] = changes["takes_replies"]
    for key, value in updates.items():
        setattr(number, key, value)
    return number


def create_patient(session: Session, practice: Practice, data: dict[str, Any],
                   now: datetime) -> Patient:
    first = data.get("first_name")
    if not isinstance(first, str) or not first.strip():
        raise Invalid("invalid_first_name", "first_name is required.")
    clinic_id = data.get("clinic_id")
    clinic = (practice_store.get_clinic(session, practice.id, clinic_id) if clinic_id
              else practice_store.first_clinic(session, practice.id))
    if clinic is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    patient = Patient(practice_id=practice.id, clinic_id=clinic.id, first_name=first.strip(),
                      last_name=str(data.get("last_name") or "").strip(),
                      birthdate=data.get("birthdate"), created_at=now)
    set_phone(patient, data.get("wireless_phone"), practice.default_country)
    session.add(patient)
    session.flush()
    lookups.request(session, practice.id, patient.phone_e164, now)  # the scheduler asks
    return patient


def create_patients(session: Session, practice: Practice, rows: list[dict[str, Any]],
                    now: datetime) -> list[tuple[int, str | None]]:
    """Many patients at once (an import from the practice's system): the checks and phone
    parsing of `create_patient`, one INSERT. Returns (id, E.164 phone) in the order given."""
    clinics = {clinic.id for clinic in practice_store.list_clinics(session, practice.id)}
    default = min(clinics) if clinics else None
    values = []
    for data in rows:
        first = data.get("first_name")
        if not isinstance(first, str) or not first.strip():
            raise Invalid("invalid_first_name", "first_name is required.")
        clinic_id = data.get("clinic_id") or default
        if clinic_id not in clinics:
            raise NotFound("clinic_not_found", "No such clinic.")
        values.append({"practice_id": practice.id, "clinic_id": clinic_id,
                       "first_name": first.strip()[:100],
                       "last_name": str(data.get("last_name") or "").strip()[:100],
                       **phone_columns(data.get("wireless_phone"), practice.default_country),
                       "created_at": now})
    ids = practice_store.add_patients(session, values)
    phones = [v["phone_e164"] for v in values]
    lookups.request_many(session, practice.id, phones, now)
    return list(zip(ids, phones, strict=True))


def set_phone(patient: Patient, raw: Any, default_country: str) -> None:
    """Store the phone as typed and as E.164; a new number forgets what was learned (B7)."""
    for column, value in phone_columns(raw, default_country).items():
        setattr(patient, column, value)


def phone_columns(raw: Any, default_country: str) -> dict[str, Any]:
    """What a patient keeps of a phone (set_phone's columns)."""
    if raw is not None and not isinstance(raw, str):
        raise Invalid("invalid_wireless_phone", "wireless_phone must be a string.")
    parsed = parse_phone(raw, default_country)
    return {"phone_raw": parsed.raw or None, "phone_e164": parsed.e164, "phone_finding": None,
            "phone_check": parsed.problem.value if parsed.problem else "ok",
            "phone_region": parsed.region}
