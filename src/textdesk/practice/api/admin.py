"""Operator endpoints: practices, number verification and registration."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from textdesk.domain.errors import Invalid, NotFound
from textdesk.kit.schemas import Body, Id, Text20, Text200, View
from textdesk.kit.web import SessionDep, StateDep, api_router, require_admin
from textdesk.messaging.api.views import NumberOut, number_view
from textdesk.practice.service import REGISTRATION_STATUSES, create_practice
from textdesk.storage import directory as practice_store

router = api_router("/api/v1/admin", tags=["operator"], dependencies=[Depends(require_admin)])


class NewPractice(Body):
    name: Text200


class Registration(Body):
    status: Text20


class PracticeCreated(View):
    id: int
    name: str
    api_token: str


@router.post("/practices", status_code=201, response_model=PracticeCreated)
def post_practice(body: NewPractice, session: SessionDep, app: StateDep) -> dict[str, Any]:
    practice, token = create_practice(session, body.name, app.clock.now())
    return {"id": practice.id, "name": practice.name, "api_token": token}


@router.post("/numbers/{number_id}/confirm", response_model=NumberOut)
def confirm_number(number_id: Id, session: SessionDep) -> dict[str, Any]:
    number = practice_store.get_number(session, number_id)
    if number is None:
        raise NotFound("number_not_found", "No such number.")
    number.status = "active"
    return number_view(number)


@router.put("/numbers/{number_id}/registration", response_model=NumberOut)
def set_registration(number_id: Id, body: Registration, session: SessionDep) -> dict[str, Any]:
    if body.status not in REGISTRATION_STATUSES:
        raise Invalid("invalid_registration_status",
                      f"status must be one of {', '.join(REGISTRATION_STATUSES)}.")
    number = practice_store.get_number(session, number_id)
    if number is None:
        raise NotFound("number_not_found", "No such number.")
    number.registration_status = body.status
    return number_view(number)
