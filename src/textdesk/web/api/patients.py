"""Patients: records, consent, can-text, messages and commlogs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel

from textdesk.domain.errors import Invalid, NotFound
from textdesk.services import consent as consent_service
from textdesk.services import diagnostics
from textdesk.services.messaging import delete_commlog
from textdesk.services.practices import create_patient, set_phone
from textdesk.storage import consent as consent_store
from textdesk.storage import messages as message_store
from textdesk.storage import practices as practice_store
from textdesk.storage.models import Patient, Practice
from textdesk.web.api.views import commlog_view, consent_event_view, message_view, patient_view
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1", tags=["patients"])


class NewPatient(BaseModel):
    first_name: str
    last_name: str = ""
    wireless_phone: str | None = None
    clinic_id: int | None = None


class ConsentRequest(BaseModel):
    action: str
    scope: str = "all"
    source: str = "verbal"
    note: str | None = None
    actor: str | None = None


def _patient(session: Any, practice: Practice, patient_id: int) -> Patient:
    patient = practice_store.get_patient(session, practice.id, patient_id)
    if patient is None:
        raise NotFound("patient_not_found", "No such patient.")
    return patient


@router.post("/patients", status_code=201)
def post_patient(body: NewPatient, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> dict[str, Any]:
    return patient_view(create_patient(session, practice, body.model_dump(), app.clock.now()))


@router.get("/patients")
def get_patients(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [patient_view(p) for p in practice_store.list_patients(session, practice.id)]


@router.get("/patients/{patient_id}")
def get_patient(patient_id: int, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    return patient_view(_patient(session, practice, patient_id))


@router.patch("/patients/{patient_id}")
def patch_patient(patient_id: int, changes: dict[str, Any], practice: PracticeDep,
                  session: SessionDep) -> dict[str, Any]:
    patient = _patient(session, practice, patient_id)
    allowed = {"first_name", "last_name", "wireless_phone", "clinic_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if "clinic_id" in changes and practice_store.get_clinic(
            session, practice.id, changes["clinic_id"]) is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    for name in ("first_name", "last_name"):
        if name in changes and not isinstance(changes[name], str):
            raise Invalid(f"invalid_{name}", f"{name} must be a string.")
    if "wireless_phone" in changes:
        set_phone(patient, changes["wireless_phone"], practice.default_country)
    for name in ("first_name", "last_name", "clinic_id"):
        if name in changes:
            setattr(patient, name, changes[name])
    return patient_view(patient)


@router.get("/patients/{patient_id}/can-text")
def can_text(patient_id: int, practice: PracticeDep, session: SessionDep, app: StateDep,
             body: str | None = None) -> dict[str, Any]:
    verdict = diagnostics.can_text_patient(session, practice.id, patient_id, app.clock.now(),
                                           body)
    return verdict.as_dict()


@router.post("/patients/{patient_id}/consent", status_code=201)
def post_consent(patient_id: int, body: ConsentRequest, practice: PracticeDep,
                 session: SessionDep, app: StateDep) -> dict[str, Any]:
    patient = _patient(session, practice, patient_id)
    action, scope, source = consent_service.parse_request(body.action, body.scope, body.source)
    if not patient.phone_e164:
        raise Invalid("no_wireless_phone", "The patient has no phone to record consent for.")
    consent_service.record(session, practice.id, patient.phone_e164, action, scope, source,
                           now=app.clock.now(), actor=body.actor or "staff", note=body.note,
                           patient_id=patient.id)
    return consent_view(session, practice.id, patient.phone_e164)


@router.get("/patients/{patient_id}/consent")
def get_consent(patient_id: int, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    patient = _patient(session, practice, patient_id)
    return consent_view(session, practice.id, patient.phone_e164)


def consent_view(session: Any, practice_id: int, e164: str | None) -> dict[str, Any]:
    status = consent_store.current_status(session, practice_id, e164)
    events = consent_store.history(session, practice_id, e164) if e164 else []
    return {"state": status.state.value, "marketing": status.marketing,
            "history": [consent_event_view(e) for e in events]}


@router.get("/patients/{patient_id}/messages")
def get_messages(patient_id: int, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> list[dict[str, Any]]:
    _patient(session, practice, patient_id)
    now = app.clock.now()
    return [message_view(m, holds=[r.as_dict() for r in diagnostics.message_holds(session, m, now)])
            for m in message_store.messages_of_patient(session, practice.id, patient_id)]


@router.get("/patients/{patient_id}/commlogs")
def get_commlogs(patient_id: int, practice: PracticeDep,
                 session: SessionDep) -> list[dict[str, Any]]:
    _patient(session, practice, patient_id)
    return [commlog_view(c)
            for c in message_store.commlogs_of_patient(session, practice.id, patient_id)]


@router.delete("/commlogs/{commlog_id}", status_code=204)
def remove_commlog(commlog_id: int, practice: PracticeDep, session: SessionDep) -> Response:
    delete_commlog(session, practice.id, commlog_id)
    return Response(status_code=204)
