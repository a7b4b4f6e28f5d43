"""Settings › Import patients: upload a CSV, read the preview (the column map, what would be
created or updated, each bad row by line), then import it all, or nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from textdesk.domain.errors import AppError, Forbidden, Invalid
from textdesk.integrations import patient_import
from textdesk.kit.errors import http_status
from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import CsrfDep, StaffDep, render
from textdesk.practice.auth import Staff

router = APIRouter(include_in_schema=False)
PATH = "/settings/import-patients"


def _page(request: Request, staff: Staff, session: Any, *, status_code: int = 200,
          **context: Any) -> Response:
    return render(request, "patient_import.html", staff=staff, session=session,
                  nav="settings", status_code=status_code, fields=patient_import.FIELDS,
                  max_rows=patient_import.MAX_ROWS, **context)


def _outcome(request: Request, staff: Staff, session: Any, raw: bytes, commit: bool
             ) -> patient_import.Outcome:
    if not staff.user.is_manager:
        raise Forbidden("manager_only", "Only a manager of the practice can import patients.")
    now = state(request).clock.now()
    parsed = patient_import.parse(raw)
    judged = patient_import.judge(parsed, staff.practice.default_country,
                                  staff.practice.timezone, now)
    return patient_import.apply(session, staff.practice, judged, now, commit=commit)


@router.get(PATH)
def import_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    return _page(request, staff, session)


@router.post(PATH + "/preview", dependencies=[CsrfDep])
async def preview(request: Request, staff: StaffDep, session: SessionDep,
                  file: UploadFile = File(...)) -> Response:
    raw = await file.read(patient_import.MAX_BYTES + 1)
    try:
        outcome = _outcome(request, staff, session, raw, commit=False)
    except AppError as error:
        return _page(request, staff, session, error=error, status_code=http_status(error))
    return _page(request, staff, session, preview=outcome, csv_text=raw.decode("utf-8-sig"),
                 filename=(file.filename or "")[:100])


@router.post(PATH, dependencies=[CsrfDep])
def commit(request: Request, staff: StaffDep, session: SessionDep,
           csv_text: str = Form("")) -> Response:
    try:
        outcome = _outcome(request, staff, session, csv_text.encode(), commit=True)
    except Invalid as error:
        return _page(request, staff, session, error=error, status_code=http_status(error),
                     problems=error.details.get("errors", []))
    except AppError as error:
        return _page(request, staff, session, error=error, status_code=http_status(error))
    return _page(request, staff, session, done=outcome)
