"""The patient page: details, the phone (with consent asked honestly), consent, texts, commlogs,
appointments and open flags, on one page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.appointments import service as appointments
from textdesk.consent import service as consent_service, status as consent_status
from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.errors import AppError, Invalid, NotFound
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.messaging import service as messaging
from textdesk.messaging.recipients import judge, patient_recipient
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render
from textdesk.pages.inbox import problem
from textdesk.practice.auth import Staff
from textdesk.practice.service import set_phone
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Patient

router = APIRouter(include_in_schema=False)

CONSENT_NOTE = "the patient gave this number and agrees to texts"


def _patient(session: Any, practice_id: int, patient_id: int) -> Patient:
    patient = practice_store.get_patient(session, practice_id, patient_id)
    if patient is None:
        raise NotFound("patient_not_found", "No such patient.")
    return patient


def _page(request: Request, staff: Staff, session: Any, patient_id: int) -> Response:
    try:
        patient = _patient(session, staff.practice.id, patient_id)
    except AppError as error:
        return problem(request, staff, session, error)
    phone = patient.phone_e164
    now = state(request).clock.now()
    return render(
        request, "patient.html", staff=staff, session=session, patient=patient, nav="inbox",
        verdict=judge(session, patient_recipient(session, staff.practice.id, patient.id),
                      now=now).verdict,
        consent=consent_status.current_status(session, staff.practice.id, phone),
        consent_history=(consent_status.history(session, staff.practice.id, phone)
                         if phone else []),
        flags=consent_status.open_flags_for_phone(session, staff.practice.id, phone)
        if phone else [],
        texts=messaging.messages_of_patient(session, staff.practice.id, patient.id)[-50:],
        commlogs=messaging.commlogs_of_patient(session, staff.practice.id, patient.id),
        appointments=appointments.list_for(session, staff.practice.id, patient_id=patient.id,
                                           limit=50),
        deletable=messaging.is_commlog_deletable)


@router.get("/patients/{patient_id}")
def patient_page(request: Request, patient_id: Id, staff: StaffDep,
                 session: SessionDep) -> Response:
    return _page(request, staff, session, patient_id)


@router.post("/patients/{patient_id}/phone", dependencies=[CsrfDep])
def change_phone(request: Request, patient_id: Id, staff: StaffDep, session: SessionDep,
                 phone: str = Form(""), agrees: str = Form("")) -> Response:
    """A new number forgets what was learned of the old one (B7) and starts without consent
    (consent belongs to the phone), unless staff say the patient agreed: then it is recorded,
    with who and when, for the new number."""
    # A savepoint: a refusal undoes the new number while the request's transaction goes on
    # (rolling that back would leave the error page no session to render with).
    try:
        with session.begin_nested():
            patient = _patient(session, staff.practice.id, patient_id)
            set_phone(patient, phone.strip(), staff.practice.default_country)
            if agrees == "on":
                if not patient.phone_e164:
                    raise Invalid("phone_unparseable", "The number could not be read: correct it.")
                consent_service.record(session, staff.practice.id, patient.phone_e164,
                                       ConsentAction.OPT_IN, ConsentScope.ALL,
                                       ConsentSource.VERBAL, now=state(request).clock.now(),
                                       actor=staff.user.email, note=CONSENT_NOTE,
                                       patient_id=patient.id)
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/patients/{patient_id}#phone",
                    "phone_saved_consent" if agrees == "on" else "phone_saved")


@router.post("/patients/{patient_id}/consent", dependencies=[CsrfDep])
def record_consent(request: Request, patient_id: Id, staff: StaffDep, session: SessionDep,
                   action: str = Form(""), scope: str = Form("all"),
                   note: str = Form("")) -> Response:
    try:
        patient = _patient(session, staff.practice.id, patient_id)
        if not patient.phone_e164:
            raise Invalid("no_wireless_phone", "Add the patient's wireless phone first.")
        consent_action, consent_scope, _ = consent_service.parse_request(action, scope, "verbal")
        if consent_action is ConsentAction.OPT_IN and not note.strip():
            raise Invalid("consent_note_required",
                          "Say how the patient gave consent (for example: verbally at the desk).")
        consent_service.record(session, staff.practice.id, patient.phone_e164, consent_action,
                               consent_scope, ConsentSource.VERBAL,
                               now=state(request).clock.now(), actor=staff.user.email,
                               note=note.strip()[:500] or None, patient_id=patient.id)
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/patients/{patient_id}#consent", "consent_recorded")
