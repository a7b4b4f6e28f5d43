"""Templates: save them only when they render (E3), and fill them for one patient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.automation import store as store
from textdesk.domain import templates as rules
from textdesk.domain.errors import Conflict, Invalid, NotFound, choice
from textdesk.domain.ids import is_id
from textdesk.domain.schedule import zone
from textdesk.domain.templates import Purpose
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Appointment, MessageTemplate, Patient, Practice


def purpose_of(value: Any) -> Purpose:
    return choice(Purpose, value, "invalid_purpose", "template purpose", "purposes")


def checked_body(body: Any, purpose: Purpose) -> str:
    """The body, or Invalid with every problem found (unknown fields, braces …)."""
    if not isinstance(body, str):
        raise Invalid("invalid_template", "body must be a string.")
    problems = rules.check(body, purpose)
    if problems:
        raise Invalid("invalid_template", problems[0].message,
                      problems=[p.as_dict() for p in problems],
                      fields=sorted(rules.AVAILABLE[purpose]))
    return body


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("invalid_name", "A template needs a name.")
    return value.strip()[:100]


def create(session: Session, practice: Practice, data: dict[str, Any],
           now: datetime) -> MessageTemplate:
    name = _name(data.get("name"))
    purpose = purpose_of(data.get("purpose", Purpose.REMINDER.value))
    body = checked_body(data.get("body"), purpose)
    if store.template_by_name(session, practice.id, name) is not None:
        raise Conflict("template_name_taken", f"A template named {name!r} exists.")
    template = MessageTemplate(practice_id=practice.id, name=name, purpose=purpose.value,
                               body=body, created_at=now, updated_at=now)
    store.add(session, template)
    return template


def update(session: Session, practice: Practice, template_id: int, data: dict[str, Any],
           now: datetime) -> MessageTemplate:
    """Change name, purpose or body; the result is checked as a whole before anything moves."""
    template = get(session, practice.id, template_id)
    name = _name(data["name"]) if "name" in data else template.name
    purpose = purpose_of(data["purpose"]) if "purpose" in data else Purpose(template.purpose)
    body = checked_body(data.get("body", template.body), purpose)
    other = store.template_by_name(session, practice.id, name)
    if other is not None and other.id != template.id:
        raise Conflict("template_name_taken", f"A template named {name!r} exists.")
    template.name, template.purpose, template.body = name, purpose.value, body
    template.updated_at = now
    return template


def get(session: Session, practice_id: int, template_id: Any) -> MessageTemplate:
    template = (store.get_template(session, practice_id, template_id)
                if is_id(template_id) else None)
    if template is None:
        raise NotFound("template_not_found", "No such template.")
    return template


def preview(body: Any, purpose: Any) -> dict[str, object]:
    checked = purpose_of(purpose)
    return rules.preview(checked_body(body, checked), checked)


def clinic_values(session: Session, practice: Practice, clinic_id: int | None) -> dict[str, str]:
    clinic = practice_store.get_clinic(session, practice.id, clinic_id) if clinic_id else None
    return {"clinic_name": clinic.name if clinic else practice.name,
            "clinic_phone": _shown_phone((clinic.phone if clinic else None)
                                         or practice.office_phone or "")}


def _shown_phone(e164: str) -> str:
    """+14155550100 → (415) 555-0100, as patients read a US number; others as stored."""
    if e164.startswith("+1") and len(e164) == 12:
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    return e164


def render_for_appointment(session: Session, practice: Practice, body: str, patient: Patient,
                           appointment: Appointment, confirm_link: str = "") -> str:
    """The text for one appointment: first name, clinic, date and time, and the link."""
    values = {"first_name": patient.first_name, "confirm_link": confirm_link,
              "recall_link": ""}
    values.update(clinic_values(session, practice, appointment.clinic_id))
    values.update(rules.appointment_values(appointment.start_at, zone(practice.timezone)))
    return rules.render(body, values)
