"""Appointments: book (for a patient or a lead), change, cancel, list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from textdesk.services import appointments as appointment_service
from textdesk.storage import appointments as appointment_store
from textdesk.storage.appointments import Appointment
from textdesk.web.api.views import iso
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1", tags=["appointments"])


class NewAppointment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    patient_id: int | None = None
    lead_id: int | None = None
    clinic_id: int | None = None
    start: str
    provider: str | None = None


def appointment_view(a: Appointment) -> dict[str, Any]:
    return {"id": a.id, "clinic_id": a.clinic_id, "patient_id": a.patient_id,
            "lead_id": a.lead_id, "start": iso(a.start_at), "provider": a.provider,
            "status": a.status, "created_at": iso(a.created_at), "updated_at": iso(a.updated_at)}


@router.post("/appointments", status_code=201)
def post_appointment(body: NewAppointment, practice: PracticeDep, session: SessionDep,
                     app: StateDep) -> dict[str, Any]:
    data = body.model_dump(exclude_none=True)
    return appointment_view(appointment_service.book(session, practice, data, app.clock.now()))


@router.get("/appointments")
def get_appointments(practice: PracticeDep, session: SessionDep, patient_id: int | None = None,
                     lead_id: int | None = None) -> list[dict[str, Any]]:
    return [appointment_view(a) for a in appointment_store.list_for(
        session, practice.id, patient_id=patient_id, lead_id=lead_id)]


@router.get("/appointments/{appointment_id}")
def get_appointment(appointment_id: int, practice: PracticeDep,
                    session: SessionDep) -> dict[str, Any]:
    return appointment_view(appointment_service.get(session, practice.id, appointment_id))


@router.patch("/appointments/{appointment_id}")
def patch_appointment(appointment_id: int, changes: dict[str, Any], practice: PracticeDep,
                      session: SessionDep, app: StateDep) -> dict[str, Any]:
    return appointment_view(appointment_service.update(session, practice, appointment_id,
                                                       changes, app.clock.now()))


@router.post("/appointments/{appointment_id}/cancel")
def cancel_appointment(appointment_id: int, practice: PracticeDep, session: SessionDep,
                       app: StateDep) -> dict[str, Any]:
    return appointment_view(appointment_service.cancel(session, practice, appointment_id,
                                                       app.clock.now()))
