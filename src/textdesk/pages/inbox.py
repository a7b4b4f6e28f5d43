"""The inbox page: conversations newest first, filters, search, and live updates by polling."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from textdesk.domain.errors import AppError
from textdesk.inbox import service as inbox_service
from textdesk.kit.errors import http_status
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render, secure_headers
from textdesk.practice.auth import Staff

router = APIRouter(include_in_schema=False)

VIEW_LABELS = {"all": "All", "unread": "Unread", "patients": "Patients", "leads": "Leads",
               "unmatched": "Unmatched", "needs_review": "Needs review"}


def problem(request: Request, staff: Staff | None, session: object, error: AppError) -> Response:
    """An error page carrying the same code and status the API would answer."""
    return render(request, "error.html", staff=staff, session=session,
                  status_code=http_status(error), title=error.code.replace("_", " ").capitalize(),
                  message=error.message, code=error.code)


@router.get("/")
def home(staff: StaffDep) -> Response:
    return redirect("/inbox")


def list_pane(request: Request, staff: Staff, session: Session, view: str = "all",
              search: str = "", page: int = 1) -> inbox_service.InboxPage:
    """The conversation list every two-pane page shows on its left."""
    return inbox_service.inbox(session, staff.practice.id, view=view, search=search, page=page,
                               now=state(request).clock.now())


@router.get("/inbox")
def inbox_page(request: Request, staff: StaffDep, session: SessionDep, view: str = "all",
               q: str = "", page: int = 1) -> Response:
    try:
        data = list_pane(request, staff, session, view, q, page)
    except AppError as error:
        return problem(request, staff, session, error)
    return render(request, "inbox.html", staff=staff, session=session, inbox=data,
                  views=VIEW_LABELS, nav="inbox", layout="list", current=0)


@router.get("/inbox/rows")
def inbox_rows(request: Request, staff: StaffDep, session: SessionDep, view: str = "all",
               q: str = "", page: int = 1, since: str = "", current: int = 0) -> Response:
    """The table body when anything changed since `since`, else 204: what the page polls."""
    stamp = inbox_service.inbox_stamp(session, staff.practice.id)
    if stamp == since:
        response = Response(status_code=204)
    else:
        try:
            data = list_pane(request, staff, session, view, q, page)
        except AppError as error:
            return problem(request, staff, session, error)
        response = render(request, "_inbox_rows.html", staff=staff, inbox=data, current=current)
        response.headers["X-Inbox-Total"] = str(data.total)
    response.headers["X-Inbox-Stamp"] = stamp
    response.headers["X-Unread-Total"] = str(
        inbox_service.unread_total(session, staff.practice.id))
    return secure_headers(response)


@router.get("/new")
def new_text(request: Request, staff: StaffDep, session: SessionDep, who: str = "") -> Response:
    """Start a text: pick a patient or a lead by name or phone, even one never texted."""
    people = inbox_service.people_matching(session, staff.practice.id, who,
                                           state(request).clock.now().date())
    return render(request, "new_text.html", staff=staff, session=session, people=people,
                  who=who.strip(), inbox=list_pane(request, staff, session), views=VIEW_LABELS,
                  nav="inbox", layout="thread", current=0)


@router.get("/new/results")
def new_text_results(request: Request, staff: StaffDep, session: SessionDep,
                     who: str = "") -> Response:
    """The picker's matches, as the page asks while staff type."""
    people = inbox_service.people_matching(session, staff.practice.id, who,
                                           state(request).clock.now().date())
    return render(request, "_people.html", staff=staff, people=people, who=who.strip())


@router.post("/patients/{patient_id}/conversation", dependencies=[CsrfDep])
def start_conversation(request: Request, patient_id: Id, staff: StaffDep,
                       session: SessionDep) -> Response:
    try:
        conversation = inbox_service.conversation_for_patient(
            session, staff.practice.id, patient_id, state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/conversations/{conversation.id}")
