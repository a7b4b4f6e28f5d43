"""Patients: records, consent, can-text, messages and commlogs."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import Field

from textdesk.consent import service as consent_service, status as consent_status
from textdesk.domain.errors import Invalid, NotFound
from textdesk.kit.schemas import (
    Birthdate,
    Body,
    Id,
    Text10k,
    Text20,
    Text40,
    Text100,
    Text200,
    Text2000,
)
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.lookups import service as lookups
from textdesk.media import service as media
from textdesk.messaging import service as messaging
from textdesk.messaging.api.views import (
    CommlogOut,
    ConsentOut,
    MessageOut,
    PatientOut,
    VerdictOut,
    commlog_view,
    consent_event_view,
    message_view,
    patient_view,
)
from textdesk.messaging.service import delete_commlog
from textdesk.practice import diagnostics
from textdesk.practice.service import create_patient, set_phone
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Patient, Practice

router = api_router(tags=["patients"])


class NewPatient(Body):
    first_name: Text100
    last_name: Text100 = ""
    wireless_phone: Text40 | None = Field(
        None, description="As typed; one that is no phone is kept, with `phone_check` saying so")
    clinic_id: Id | None = None
    birthdate: Birthdate | None = None


class PatientChanges(Body):
    first_name: Text100 | None = None
    last_name: Text100 | None = None
    wireless_phone: Text40 | None = None
    clinic_id: Id | None = None
    birthdate: Birthdate | None = None


class ConsentRequest(Body):
    action: Text20
    scope: Text20 = "all"
    source: Text40 = "verbal"
    note: Text2000 | None = None
    actor: Text200 | None = None


def _patient(session: Any, practice: Practice, patient_id: Id) -> Patient:
    patient = practice_store.get_patient(session, practice.id, patient_id)
    if patient is None:
        raise NotFound("patient_not_found", "No such patient.")
    return patient


@router.post("/patients", status_code=201, response_model=PatientOut)
def post_patient(body: NewPatient, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> dict[str, Any]:
    return patient_view(create_patient(session, practice, body.model_dump(), app.clock.now()))


@router.get("/patients", response_model=list[PatientOut])
def get_patients(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [patient_view(p) for p in practice_store.list_patients(session, practice.id)]


@router.get("/patients/{patient_id}", response_model=PatientOut)
def get_patient(patient_id: Id, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    return patient_view(_patient(session, practice, patient_id))


@router.patch("/patients/{patient_id}", response_model=PatientOut)
def patch_patient(patient_id: Id, body: PatientChanges, practice: PracticeDep,
                  session: SessionDep, app: StateDep) -> dict[str, Any]:
    patient = _patient(session, practice, patient_id)
    changes = body.given()
    if "clinic_id" in changes and practice_store.get_clinic(
            session, practice.id, changes["clinic_id"]) is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    for name in ("first_name", "last_name"):
        if name in changes and not isinstance(changes[name], str):
            raise Invalid(f"invalid_{name}", f"{name} must be a string.")
    if "wireless_phone" in changes:
        set_phone(patient, changes["wireless_phone"], practice.default_country)
        lookups.request(session, practice.id, patient.phone_e164, app.clock.now())
    for name in ("first_name", "last_name", "clinic_id", "birthdate"):
        if name in changes:
            setattr(patient, name, changes[name])
    return patient_view(patient)


@router.get("/patients/{patient_id}/can-text", response_model=VerdictOut)
def can_text(patient_id: Id, practice: PracticeDep, session: SessionDep, app: StateDep,
             body: Text10k | None = None) -> dict[str, Any]:
    verdict = diagnostics.can_text_patient(session, practice.id, patient_id, app.clock.now(),
                                           body)
    return verdict.as_dict()


@router.post("/patients/{patient_id}/consent", status_code=201, response_model=ConsentOut)
def post_consent(patient_id: Id, body: ConsentRequest, practice: PracticeDep,
                 session: SessionDep, app: StateDep) -> dict[str, Any]:
    patient = _patient(session, practice, patient_id)
    action, scope, source = consent_service.parse_request(body.action, body.scope, body.source)
    if not patient.phone_e164:
        raise Invalid("no_wireless_phone", "The patient has no phone to record consent for.")
    consent_service.record(session, practice.id, patient.phone_e164, action, scope, source,
                           now=app.clock.now(), actor=body.actor or "staff", note=body.note,
                           patient_id=patient.id)
    return consent_view(session, practice.id, patient.phone_e164)


@router.get("/patients/{patient_id}/consent", response_model=ConsentOut)
def get_consent(patient_id: Id, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    patient = _patient(session, practice, patient_id)
    return consent_view(session, practice.id, patient.phone_e164)


def consent_view(session: Any, practice_id: int, e164: str | None) -> dict[str, Any]:
    status = consent_status.current_status(session, practice_id, e164)
    events = consent_status.history(session, practice_id, e164) if e164 else []
    return {"state": status.state.value, "marketing": status.marketing,
            "history": [consent_event_view(e) for e in events]}


@router.get("/patients/{patient_id}/messages", response_model=list[MessageOut])
def get_messages(patient_id: Id, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> list[dict[str, Any]]:
    _patient(session, practice, patient_id)
    now = app.clock.now()
    messages = messaging.messages_of_patient(session, practice.id, patient_id)
    files = media.views_of(session, [m.id for m in messages if m.num_media])
    return [message_view(m, holds=[r.as_dict() for r in diagnostics.message_holds(session, m, now)],
                         media=files.get(m.id))
            for m in messages]


@router.get("/patients/{patient_id}/commlogs", response_model=list[CommlogOut])
def get_commlogs(patient_id: Id, practice: PracticeDep,
                 session: SessionDep) -> list[dict[str, Any]]:
    _patient(session, practice, patient_id)
    return [commlog_view(c)
            for c in messaging.commlogs_of_patient(session, practice.id, patient_id)]


@router.delete("/commlogs/{commlog_id}", status_code=204, response_class=Response)
def remove_commlog(commlog_id: Id, practice: PracticeDep, session: SessionDep) -> Response:
    delete_commlog(session, practice.id, commlog_id)
    return Response(status_code=204)
