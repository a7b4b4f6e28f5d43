"""The practice's own setup: settings, clinics and sending numbers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from textdesk.domain.errors import Invalid
from textdesk.services.practices import add_number, create_clinic, update_practice
from textdesk.storage import practices as practice_store
from textdesk.web.api.views import clinic_view, number_view, practice_view
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1", tags=["practice"])


class NewClinic(BaseModel):
    name: str
    phone: str | None = None
    monthly_limit_usd: float | str | None = None


class NewNumber(BaseModel):
    e164: str
    kind: str = "local"


@router.get("/practice")
def get_practice(practice: PracticeDep) -> dict[str, Any]:
    return practice_view(practice)


@router.patch("/practice")
def patch_practice(changes: dict[str, Any], practice: PracticeDep,
                   session: SessionDep) -> dict[str, Any]:
    if not isinstance(changes, dict):
        raise Invalid("invalid_request", "Send a JSON object.")
    return practice_view(update_practice(session, practice, changes))


@router.post("/clinics", status_code=201)
def post_clinic(body: NewClinic, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    clinic = create_clinic(session, practice, body.name, body.phone, body.monthly_limit_usd,
                           app.clock.now())
    return clinic_view(clinic)


@router.get("/clinics")
def get_clinics(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [clinic_view(c) for c in practice_store.list_clinics(session, practice.id)]


@router.post("/clinics/{clinic_id}/numbers", status_code=201)
def post_number(clinic_id: int, body: NewNumber, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    return number_view(add_number(session, practice, clinic_id, body.e164, body.kind,
                                  app.clock.now()))


@router.get("/numbers")
def get_numbers(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [number_view(n) for n in practice_store.list_numbers(session, practice.id)]
