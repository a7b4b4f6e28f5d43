"""The Test text button (A6): a text to the office's own phone, and its result as it arrives."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.domain.errors import AppError, NotFound
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.messaging import service as messaging
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render, secure_headers
from textdesk.pages.inbox import problem
from textdesk.practice import diagnostics

router = APIRouter(include_in_schema=False)

RETURN_TO = {"settings": "/settings", "health": "/health"}


@router.post("/test-text", dependencies=[CsrfDep])
def send_test_text(request: Request, staff: StaffDep, session: SessionDep,
                   to: str = Form(""), back: str = Form("settings")) -> Response:
    page = RETURN_TO.get(back, "/settings")
    try:
        queued = messaging.send_test(session, staff.practice, to.strip() or None, None,
                                     state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"{page}?test={queued.message.id}#test-text", "test_sent")


def test_result(request: Request, session: Any, practice_id: int,
                message_id: int) -> dict[str, Any] | None:
    """The test text and its why, for the page that sent it; None if it is not this practice's."""
    message = messaging.get_message(session, practice_id, message_id)
    if message is None or message.kind != "test":
        return None
    return {"message": message,
            "why": diagnostics.explain_message(session, message, state(request).clock.now())}


@router.get("/test-text/{message_id}")
def test_text_fragment(request: Request, message_id: Id, staff: StaffDep,
                       session: SessionDep, since: str = "") -> Response:
    """The result panel, when the status changed since `since` (the page asks until it ends)."""
    result = test_result(request, session, staff.practice.id, message_id)
    if result is None:
        return problem(request, staff, session, NotFound("message_not_found", "No such text."))
    stamp = str(result["message"].status)
    if stamp == since:
        response: Response = Response(status_code=204)
    else:
        response = render(request, "_test_text.html", staff=staff, test=result)
    response.headers["X-Thread-Stamp"] = stamp
    return secure_headers(response)


def shown_test(request: Request, session: Any, practice_id: int) -> dict[str, Any] | None:
    """The test text a page was sent back with (?test=id), if any."""
    raw = request.query_params.get("test", "")
    return test_result(request, session, practice_id, int(raw)) if raw.isdigit() else None
