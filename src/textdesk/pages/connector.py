"""The connector page: working or down, the waiting queue, errors to acknowledge, Refresh."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from textdesk.domain.consent import display_phone
from textdesk.domain.errors import AppError
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.messaging import connector_status
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render
from textdesk.pages.inbox import problem
from textdesk.storage import directory as practice_store

router = APIRouter(include_in_schema=False)


@router.get("/connector")
def connector_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    status = connector_status.status(session, staff.practice.id, state(request).clock.now())
    unacknowledged = [e for e in status["errors"] if not e["acknowledged"]]
    last = status["last_heartbeat_at"]
    age = (state(request).clock.now() - datetime.fromisoformat(last)).total_seconds() if last \
        else None
    return render(request, "connector.html", staff=staff, session=session, status=status,
                  unacknowledged=unacknowledged, heartbeat_age=_ago(age), nav="connector",
                  subjects=_subjects(session, staff.practice.id, status["errors"]))


def _subjects(session: Session, practice_id: int,
              errors: list[dict[str, Any]]) -> dict[int, dict[str, str]]:
    """Whom each error's text was for, and where to read it: {message id: name, href}."""
    texts = connector_status.texts_of_errors(
        session, practice_id, [e["message_id"] for e in errors if e["message_id"]])
    found = {}
    for message_id, message in texts.items():
        patient = (practice_store.get_patient(session, practice_id, message.patient_id)
                   if message.patient_id else None)
        name = (f"{patient.first_name} {patient.last_name}".strip() if patient
                else display_phone(message.to_e164))
        href = (f"/conversations/{message.conversation_id}#text-{message_id}"
                if message.conversation_id else "")
        found[message_id] = {"name": name, "href": href}
    return found


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "no heartbeat ever"
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return f"{seconds} second{'' if seconds == 1 else 's'} ago"


@router.post("/connector/errors/{error_id}/acknowledge", dependencies=[CsrfDep])
def acknowledge(request: Request, error_id: Id, staff: StaffDep,
                session: SessionDep) -> Response:
    try:
        connector_status.acknowledge(session, staff.practice.id, error_id, staff.user.email,
                                     state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect("/connector", "acknowledged")


@router.post("/connector/refresh", dependencies=[CsrfDep])
def refresh(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    connector_status.refresh(session, staff.practice.id, state(request).clock.now())
    return redirect("/connector", "refreshed")
