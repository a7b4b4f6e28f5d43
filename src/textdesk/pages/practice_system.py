"""The Settings section for the practice's own system: connect Open Dental or a FHIR R4 server,
map Open Dental's clinics to the practice's, sync now and read the last sync's result. The keys
are write-only: a blank key field keeps the stored key; the page says only "set" or "not set"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.domain.errors import AppError, Forbidden, Invalid
from textdesk.integrations import service as integrations
from textdesk.kit.errors import http_status
from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import NOTICES, CsrfDep, StaffDep, redirect, render
from textdesk.practice.auth import Staff
from textdesk.storage import directory as practice_store

router = APIRouter(include_in_schema=False)
PATH = "/settings/practice-system"
BLANK_CLINIC_ROWS = 3  # empty rows the clinic map form offers for new ClinicNums
NOTICES.update({"sync_asked": "Sync asked for: the connector syncs at its next turn, and the "
                              "result shows here.",
                "clinics_saved": "Clinic map saved: a changed map reads everything again at "
                                 "the next sync."})


def _page(request: Request, staff: Staff, session: Any, *, error: AppError | None = None,
          status_code: int = 200, typed_rows: list[tuple[str, Any]] | None = None) -> Response:
    now = state(request).clock.now()
    found = integrations.state(session, staff.practice.id, integrations.OPEN_DENTAL, now)
    fhir = integrations.state(session, staff.practice.id, integrations.FHIR, now)
    rows = typed_rows if typed_rows is not None else sorted(
        found.clinics.items() if found else [], key=lambda row: int(row[0]))
    return render(request, "practice_system.html", staff=staff, session=session,
                  sync=found, fhir=fhir, clinics=practice_store.list_clinics(
                      session, staff.practice.id), map_rows=rows,
                  blank_rows=BLANK_CLINIC_ROWS, error=error, nav="settings",
                  status_code=status_code)


def _guarded(request: Request, staff: Staff, session: Any, change: Any,
             notice: str = "saved", typed_rows: list[tuple[str, Any]] | None = None) -> Response:
    try:
        if not staff.user.is_manager:
            raise Forbidden("manager_only", "Only a manager of the practice can change settings.")
        change()
    except AppError as error:  # the service checks everything before it changes anything
        return _page(request, staff, session, error=error, status_code=http_status(error),
                     typed_rows=typed_rows)
    return redirect(PATH, notice)


def _clinic(value: str) -> int | str | None:
    """A clinic chosen in a select: none, its id, or what came (the service refuses it)."""
    value = value.strip()
    if not value:
        return None
    return int(value) if value.isdigit() and len(value) < 19 else value


def _secrets(**typed: str) -> dict[str, str]:
    """Only the keys typed in: a blank field keeps the stored key (the service's rule)."""
    return {name: value for name, value in typed.items() if value.strip()}


@router.get(PATH)
def practice_system_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    return _page(request, staff, session)


@router.post(PATH, dependencies=[CsrfDep])
def connect(request: Request, staff: StaffDep, session: SessionDep, base_url: str = Form(""),
            developer_key: str = Form(""), customer_key: str = Form("")) -> Response:
    app = state(request)
    data = {"base_url": base_url, **_secrets(developer_key=developer_key,
                                             customer_key=customer_key)}
    return _guarded(request, staff, session, lambda: integrations.connect(
        session, staff.practice, integrations.OPEN_DENTAL, data, app.settings, app.clock.now()))


def _sync_now(request: Request, staff: Staff, session: Any, system: str) -> Response:
    return _guarded(request, staff, session, lambda: integrations.request_sync(
        session, staff.practice.id, system, state(request).clock.now()), "sync_asked")


@router.post(PATH + "/sync", dependencies=[CsrfDep])
def sync_now(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    return _sync_now(request, staff, session, integrations.OPEN_DENTAL)


def clinic_map(numbers: list[str], clinics: list[str]) -> dict[str, Any]:
    """The form's rows as the service takes them: a row without a clinic is left out (that
    ClinicNum is no longer mapped); one ClinicNum on two rows cannot be read as one map."""
    mapped: dict[str, Any] = {}
    for number, clinic in zip(numbers, clinics, strict=False):
        chosen = _clinic(clinic)
        if chosen is None:
            continue
        if number.strip() in mapped:
            raise Invalid("invalid_clinics", f"ClinicNum {number.strip()} is on two rows: "
                                                  "keep one.", field="clinics")
        mapped[number.strip()] = chosen
    return mapped


@router.post(PATH + "/clinics", dependencies=[CsrfDep])
def save_clinics(request: Request, staff: StaffDep, session: SessionDep,
                 clinic_num: list[str] = Form([]), clinic_id: list[str] = Form([]),
                 default_clinic_id: str = Form("")) -> Response:
    def change() -> None:
        integrations.set_clinics(session, staff.practice, integrations.OPEN_DENTAL,
                                 clinic_map(clinic_num[:501], clinic_id[:501]),
                                 _clinic(default_clinic_id),  # type: ignore[arg-type]
                                 state(request).clock.now())
    typed = [(n[:20], _clinic(c[:20])) for n, c in zip(clinic_num[:501], clinic_id[:501],
                                                        strict=False) if n.strip() or c.strip()]
    return _guarded(request, staff, session, change, "clinics_saved", typed)


@router.post(PATH + "/fhir", dependencies=[CsrfDep])
def connect_fhir(request: Request, staff: StaffDep, session: SessionDep,
                 base_url: str = Form(""), token: str = Form(""), remove_token: str = Form(""),
                 clinic_id: str = Form("")) -> Response:
    app = state(request)
    data: dict[str, Any] = {"base_url": base_url, "clinic_id": _clinic(clinic_id),
                            **_secrets(token=token)}
    if remove_token == "on" and "token" not in data:
        data["token"] = ""  # a server that needs no token
    return _guarded(request, staff, session, lambda: integrations.connect(
        session, staff.practice, integrations.FHIR, data, app.settings, app.clock.now()))


@router.post(PATH + "/fhir/sync", dependencies=[CsrfDep])
def sync_fhir_now(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    return _sync_now(request, staff, session, integrations.FHIR)
