"""The conversation page: the thread with each text's why, the checked send box, consent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from textdesk.consent import senders, service as consent_service
from textdesk.domain.errors import AppError, SendBlocked
from textdesk.domain.reasons import OPT_BACK_IN
from textdesk.inbox import service as inbox_service
from textdesk.kit.errors import http_status
from textdesk.kit.schemas import FormId, Id
from textdesk.kit.web import SessionDep, WriteSessionDep, state
from textdesk.media import service as media
from textdesk.media.api import file_response, read_upload
from textdesk.messaging.service import delete_commlog, is_commlog_deletable
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render, secure_headers
from textdesk.pages.inbox import VIEW_LABELS, list_pane, problem
from textdesk.practice.auth import Staff
from textdesk.storage import directory as practice_store

router = APIRouter(include_in_schema=False)


def _page(request: Request, staff: Staff, session: Any, conversation_id: int, *,
          draft: str = "", error: AppError | None = None, list_view: str = "all",
          search: str = "") -> Response:
    """The page; after a refused send it shows the refusal and keeps the draft."""
    try:
        view = inbox_service.open_conversation(session, staff.practice.id, conversation_id,
                                               state(request).clock.now())
        listed = list_pane(request, staff, session, list_view, search)
    except AppError as failure:
        return problem(request, staff, session, failure)
    blockers = (error.details.get("blockers", []) if isinstance(error, SendBlocked) else [])
    numbers = (practice_store.list_numbers(session, staff.practice.id)
               if state(request).settings.demo_mode else [])
    return render(request, "conversation.html", staff=staff, session=session, view=view,
                  draft=draft, error=error, sent_blockers=blockers, numbers=numbers,
                  deletable=is_commlog_deletable, nav="inbox", inbox=listed,
                  opt_back_in=OPT_BACK_IN,
                  views=VIEW_LABELS, layout="thread", current=conversation_id,
                  status_code=http_status(error) if error else 200)


@router.get("/conversations/{conversation_id}")
def conversation_page(request: Request, conversation_id: Id, staff: StaffDep,
                      session: WriteSessionDep, view: str = "all", q: str = "") -> Response:
    # Opening a thread marks its texts read: this GET writes.
    return _page(request, staff, session, conversation_id, list_view=view, search=q)


@router.get("/conversations/{conversation_id}/thread")
def thread_fragment(request: Request, conversation_id: Id, staff: StaffDep,
                    session: SessionDep, since: str = "") -> Response:
    """The thread when a text arrived or changed status since `since`, else 204."""
    try:
        stamp = inbox_service.thread_stamp(session, staff.practice.id, conversation_id)
        if stamp == since:
            response: Response = Response(status_code=204)
        else:  # what arrived meanwhile is marked read: the one poll that writes
            with state(request).db.transaction() as writer:
                texts = inbox_service.live_thread(writer, staff.practice.id, conversation_id,
                                                  state(request).clock.now())
                response = render(request, "_thread.html", staff=staff, texts=texts)
    except AppError as error:
        return JSONResponse(error.as_dict(), status_code=http_status(error))
    response.headers["X-Thread-Stamp"] = stamp
    return secure_headers(response)


class Draft(BaseModel):
    body: str = ""
    media: int = Field(0, ge=0, le=10)  # files attached to the draft (an MMS)


@router.post("/conversations/{conversation_id}/check", dependencies=[CsrfDep])
def check_draft(request: Request, conversation_id: Id, draft: Draft, staff: StaffDep,
                session: SessionDep) -> Response:
    """What Send would answer for the draft typed so far (the page calls it as staff type)."""
    try:
        check = inbox_service.check_draft(session, staff.practice.id, conversation_id,
                                          draft.body, state(request).clock.now(),
                                          media_count=draft.media)
    except AppError as error:
        return JSONResponse(error.as_dict(), status_code=http_status(error))
    return secure_headers(JSONResponse(check.as_dict()))


@router.post("/conversations/{conversation_id}/send", dependencies=[CsrfDep])
def send(request: Request, conversation_id: Id, staff: StaffDep, session: SessionDep,
         body: str = Form(""), picture: UploadFile | None = File(None)) -> Response:
    """Send the reply; a picture (or PDF) chosen in the send box makes it an MMS."""
    app = state(request)
    try:
        media_ids = []
        if picture is not None and picture.filename:
            data = read_upload(picture, app.settings.media_max_bytes)
            item = media.upload(session, media.blob_store(app.settings), staff.practice.id,
                                data, picture.content_type, actor=staff.user.email,
                                now=app.clock.now(), max_bytes=app.settings.media_max_bytes)
            media_ids.append(item.id)
        inbox_service.send_reply(session, staff.practice.id, conversation_id, body,
                                 actor=staff.user.email, now=app.clock.now(),
                                 media_ids=media_ids)
    except AppError as error:
        return _page(request, staff, session, conversation_id, draft=body, error=error)
    return redirect(f"/conversations/{conversation_id}", "sent")


@router.get("/media/{media_id}")
def media_file(request: Request, media_id: Id, staff: StaffDep,
               session: SessionDep) -> Response:
    """A text's file for the signed-in staff of its practice only (another's: 404)."""
    try:
        item, data = media.read(session, media.blob_store(state(request).settings),
                                staff.practice.id, media_id)
    except AppError as error:
        return JSONResponse(error.as_dict(), status_code=http_status(error))
    return file_response(item, data)


@router.post("/conversations/{conversation_id}/consent", dependencies=[CsrfDep])
def record_consent(request: Request, conversation_id: Id, staff: StaffDep,
                   session: SessionDep, action: str = Form(""), scope: str = Form("all"),
                   note: str = Form("")) -> Response:
    try:
        inbox_service.record_consent(session, staff.practice.id, conversation_id, action, note,
                                     actor=staff.user.email, now=state(request).clock.now(),
                                     scope=scope)
    except AppError as error:
        return _page(request, staff, session, conversation_id, error=error)
    return redirect(f"/conversations/{conversation_id}#consent", "consent_recorded")


@router.post("/conversations/{conversation_id}/flags/{flag_id}", dependencies=[CsrfDep])
def settle_flag(request: Request, conversation_id: Id, flag_id: Id, staff: StaffDep,
                session: SessionDep, decision: str = Form("")) -> Response:
    """Confirm a flagged revocation as an opt-out, or dismiss it (C3)."""
    now = state(request).clock.now()
    try:
        inbox_service.get_conversation(session, staff.practice.id, conversation_id)
        if decision == "confirm":
            consent_service.confirm_flag(session, staff.practice.id, flag_id, now,
                                         staff.user.email)
        else:
            consent_service.dismiss_flag(session, staff.practice.id, flag_id, now,
                                         staff.user.email)
    except AppError as error:
        return _page(request, staff, session, conversation_id, error=error)
    return redirect(f"/conversations/{conversation_id}#consent", "consent_recorded")


@router.post("/conversations/{conversation_id}/block", dependencies=[CsrfDep])
def block_sender(request: Request, conversation_id: Id, staff: StaffDep,
                 session: SessionDep) -> Response:
    """Block this sender (F6): its texts are dropped unseen from now on."""
    try:
        conversation = inbox_service.get_conversation(session, staff.practice.id,
                                                      conversation_id)
        senders.set_blocked(session, staff.practice, conversation.phone_e164, True,
                            state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect("/inbox", "blocked")


@router.post("/commlogs/{commlog_id}/delete", dependencies=[CsrfDep])
def remove_commlog(request: Request, commlog_id: Id, staff: StaffDep, session: SessionDep,
                   conversation_id: FormId = 0) -> Response:
    try:
        delete_commlog(session, staff.practice.id, commlog_id)
    except AppError as error:
        return _page(request, staff, session, conversation_id, error=error)
    return redirect(f"/conversations/{conversation_id}#commlog", "commlog_deleted")
