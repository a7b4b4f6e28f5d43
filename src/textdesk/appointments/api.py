"""Appointments: book (for a patient or a lead), change, cancel, list, import a CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from textdesk.appointments import (
    importer as appointments_import,
    service as appointment_service,
    store as appointment_store,
)
from textdesk.domain.errors import Invalid
from textdesk.kit.schemas import Body, Id, Moment, Text20, Text200, View
from textdesk.kit.web import CallerDep, PracticeDep, SessionDep, StateDep, api_router
from textdesk.messaging.api.views import iso
from textdesk.storage.models import Appointment

router = api_router(tags=["appointments"])


class NewAppointment(Body):
    patient_id: Id | None = None
    lead_id: Id | None = None
    clinic_id: Id | None = None
    start: Moment
    provider: Text200 | None = None


class AppointmentChanges(Body):
    clinic_id: Id | None = None
    start: Moment | None = None
    provider: Text200 | None = None
    status: Text20 | None = None


class AppointmentOut(View):
    id: int
    clinic_id: int | None = None
    patient_id: int | None = None
    lead_id: int | None = None
    start: str | None = None
    provider: str | None = None
    status: str
    created_at: str | None = None
    updated_at: str | None = None


def appointment_view(a: Appointment) -> dict[str, Any]:
    return {"id": a.id, "clinic_id": a.clinic_id, "patient_id": a.patient_id,
            "lead_id": a.lead_id, "start": iso(a.start_at), "provider": a.provider,
            "status": a.status, "created_at": iso(a.created_at), "updated_at": iso(a.updated_at)}


@router.post("/appointments", status_code=201, response_model=AppointmentOut)
def post_appointment(body: NewAppointment, practice: PracticeDep, session: SessionDep,
                     app: StateDep) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    return appointment_view(appointment_service.book(session, practice, data, app.clock.now()))


@router.get("/appointments", response_model=list[AppointmentOut])
def get_appointments(practice: PracticeDep, session: SessionDep, patient_id: Id | None = None,
                     lead_id: Id | None = None) -> list[dict[str, Any]]:
    return [appointment_view(a) for a in appointment_store.list_for(
        session, practice.id, patient_id=patient_id, lead_id=lead_id)]


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut)
def get_appointment(appointment_id: Id, practice: PracticeDep,
                    session: SessionDep) -> dict[str, Any]:
    return appointment_view(appointment_service.get(session, practice.id, appointment_id))


@router.patch("/appointments/{appointment_id}", response_model=AppointmentOut)
def patch_appointment(appointment_id: Id, body: AppointmentChanges, practice: PracticeDep,
                      session: SessionDep, app: StateDep) -> dict[str, Any]:
    return appointment_view(appointment_service.update(session, practice, appointment_id,
                                                       body.given(), app.clock.now()))


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentOut)
def cancel_appointment(appointment_id: Id, practice: PracticeDep, session: SessionDep,
                       app: StateDep) -> dict[str, Any]:
    return appointment_view(appointment_service.cancel(session, practice, appointment_id,
                                                       app.clock.now()))


class ImportOut(View):
    rows: int
    created: int
    updated: int
    cancelled: int
    unchanged: int


_CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {
    "type": "string", "maxLength": 1_000_000,
    "example": "patient,start,status\n12,2026-03-10T09:00:00-05:00,scheduled\n"}}}}}


async def appointment_csv(request: Request, caller: CallerDep
                          ) -> appointments_import.ParsedCsv:
    """The body read and every row parsed and judged before the write transaction opens:
    a slow upload or a large file holds no lock (decision 0143)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("invalid_csv", "The CSV must be UTF-8 text.") from exc
    return await run_in_threadpool(appointments_import.parse, text, caller.timezone)


@router.post("/appointments/import", response_model=ImportOut, openapi_extra=_CSV_BODY)
def import_appointments(parsed: Annotated[appointments_import.ParsedCsv,
                                          Depends(appointment_csv)],
                        practice: PracticeDep, session: SessionDep,
                        app: StateDep) -> dict[str, Any]:
    """A CSV (UTF-8, at most TEXTDESK_MAX_BODY_BYTES and 20,000 rows); a bad row imports none."""
    return appointments_import.import_csv(session, practice, parsed, app.clock.now())
