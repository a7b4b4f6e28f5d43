"""The inbox page: conversations newest first, filters, search, and live updates by polling."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from textdesk.domain.errors import AppError
from textdesk.services import inbox as inbox_service
from textdesk.services.auth import Staff
from textdesk.web.deps import SessionDep, state
from textdesk.web.errors import http_status
from textdesk.web.pages.common import CsrfDep, StaffDep, redirect, render, secure_headers

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


@router.get("/inbox")
def inbox_page(request: Request, staff: StaffDep, session: SessionDep, view: str = "all",
               q: str = "", page: int = 1) -> Response:
    try:
        data = inbox_service.inbox(session, staff.practice.id, view=view, search=q, page=page)
    except AppError as error:
        return problem(request, staff, session, error)
    return render(request, "inbox.html", staff=staff, session=session, inbox=data,
                  views=VIEW_LABELS, nav="inbox")


@router.get("/inbox/rows")
def inbox_rows(request: Request, staff: StaffDep, session: SessionDep, view: str = "all",
               q: str = "", page: int = 1, since: str = "") -> Response:
    """The table body when anything changed since `since`, else 204: what the page polls."""
    stamp = inbox_service.inbox_stamp(session, staff.practice.id)
    if stamp == since:
        response = Response(status_code=204)
    else:
        try:
            data = inbox_service.inbox(session, staff.practice.id, view=view, search=q,
                                       page=page)
        except AppError as error:
            return problem(request, staff, session, error)
        response = render(request, "_inbox_rows.html", staff=staff, inbox=data)
        response.headers["X-Inbox-Total"] = str(data.total)
    response.headers["X-Inbox-Stamp"] = stamp
    response.headers["X-Unread-Total"] = str(
        inbox_service.unread_total(session, staff.practice.id))
    return secure_headers(response)


@router.post("/patients/{patient_id}/conversation", dependencies=[CsrfDep])
def start_conversation(request: Request, patient_id: int, staff: StaffDep,
                       session: SessionDep) -> Response:
    try:
        conversation = inbox_service.conversation_for_patient(
            session, staff.practice.id, patient_id, state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/conversations/{conversation.id}")
