"""The demo practice `serve --demo` creates in an empty database."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.consent import service as consent_service
from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.signin import hash_token
from textdesk.practice.auth import create_user
from textdesk.practice.service import add_number, create_clinic, create_patient, create_practice
from textdesk.storage import directory as practice_store

DEMO_NUMBER = "+15005550006"  # Twilio's valid test sender
DEMO_PATIENTS = [
    ("Ava", "Nguyen", "(415) 555-0101", True),
    ("Ben", "Okafor", "(415) 555-0102", True),
    ("Carla", "Diaz", "(415) 555-0103", True),
    ("Dev", "Patel", "(415) 555-0104", False),
    ("Elena", "Rossi", "(212) 555-0105", True),
]


@dataclass(frozen=True)
class Demo:
    practice_id: int
    api_token: str
    extra_lines: tuple[str, ...] = ()


DEMO_STAFF_EMAIL = "frontdesk@brightsmiles.example"


def seed(session: Session, now: datetime, api_token: str | None = None,
         staff_password: str | None = None) -> Demo | None:
    """Create the demo practice if the database has no practice yet."""
    if practice_store.list_practices(session):
        return None
    practice, token = create_practice(session, "Bright Smiles Dental", now)
    if api_token:
        practice.api_token_hash, token = hash_token(api_token), api_token
    practice.sms_enabled = True
    practice.office_phone = "+14155550199"
    practice.link_domain = "brightsmiles.example"
    clinic = create_clinic(session, practice, "Bright Smiles — Downtown", "+14155550100", 50,
                           now)
    number = add_number(session, practice, clinic.id, DEMO_NUMBER, "local", now)
    number.registration_status = "approved"
    for first, last, phone, opted_in in DEMO_PATIENTS:
        patient = create_patient(session, practice, {"first_name": first, "last_name": last,
                                                     "wireless_phone": phone,
                                                     "clinic_id": clinic.id}, now)
        if opted_in and patient.phone_e164:
            consent_service.record(session, practice.id, patient.phone_e164,
                                   ConsentAction.OPT_IN, ConsentScope.ALL, ConsentSource.WEB_FORM,
                                   now=now, actor="demo", note="demo consent",
                                   patient_id=patient.id)
    staff_lines = _demo_staff(session, practice.id, now, staff_password)
    return Demo(practice.id, token, extra_lines=staff_lines)


def _demo_staff(session: Session, practice_id: int, now: datetime,
                password: str | None) -> tuple[str, ...]:
    """A manager who can sign in to the pages; the password is printed once, by `serve`."""


    password = password or secrets.token_urlsafe(9)
    create_user(session, practice_id, DEMO_STAFF_EMAIL, "Front desk", password, now,
                is_manager=True)
    return (f"Staff sign-in: {DEMO_STAFF_EMAIL} / {password}",)
