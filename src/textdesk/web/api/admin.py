"""Operator endpoints: practices, number verification and registration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from textdesk.domain.errors import Invalid, NotFound
from textdesk.services.practices import REGISTRATION_STATUSES, create_practice
from textdesk.storage import practices as practice_store
from textdesk.web.api.views import number_view
from textdesk.web.deps import SessionDep, StateDep, require_admin

router = APIRouter(prefix="/api/v1/admin", tags=["operator"],
                   dependencies=[Depends(require_admin)])


class NewPractice(BaseModel):
    name: str


class Registration(BaseModel):
    status: str


@router.post("/practices", status_code=201)
def post_practice(body: NewPractice, session: SessionDep, app: StateDep) -> dict[str, Any]:
    practice, token = create_practice(session, body.name, app.clock.now())
    return {"id": practice.id, "name": practice.name, "api_token": token}


@router.post("/numbers/{number_id}/confirm")
def confirm_number(number_id: int, session: SessionDep) -> dict[str, Any]:
    number = practice_store.get_number(session, number_id)
    if number is None:
        raise NotFound("number_not_found", "No such number.")
    number.status = "active"
    return number_view(number)


@router.put("/numbers/{number_id}/registration")
def set_registration(number_id: int, body: Registration, session: SessionDep) -> dict[str, Any]:
    if body.status not in REGISTRATION_STATUSES:
        raise Invalid("invalid_registration_status",
                      f"status must be one of {', '.join(REGISTRATION_STATUSES)}.")
    number = practice_store.get_number(session, number_id)
    if number is None:
        raise NotFound("number_not_found", "No such number.")
    number.registration_status = body.status
    return number_view(number)
