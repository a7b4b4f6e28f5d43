"""The settings page: SMS on/off, countries, link policy, quiet hours, clinics, numbers, limits."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.domain.errors import AppError, Forbidden
from textdesk.kit.errors import http_status
from textdesk.kit.schemas import FormId, Id
from textdesk.kit.web import SessionDep, state
from textdesk.messaging.recipients import month_spend
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render
from textdesk.pages.testtext import shown_test
from textdesk.practice import auth, service as practice_service
from textdesk.practice.auth import Staff
from textdesk.storage import directory as practice_store

router = APIRouter(include_in_schema=False)


def _page(request: Request, staff: Staff, session: Any, *, error: AppError | None = None,
          status_code: int = 200) -> Response:
    practice = staff.practice
    now = state(request).clock.now()
    clinics = practice_store.list_clinics(session, practice.id)
    spend = {c.id: month_spend(session, practice.id, c.id, now) for c in clinics}
    return render(request, "settings.html", staff=staff, session=session, practice=practice,
                  clinics=clinics, spend=spend,
                  numbers=practice_store.list_numbers(session, practice.id),
                  users=auth.list_users(session, practice.id),
                  kinds=practice_service.NUMBER_KINDS, policies=practice_service.URL_POLICIES,
                  error=error, nav="settings", status_code=status_code,
                  test=shown_test(request, session, practice.id), back="settings")


def _manager(staff: Staff) -> None:
    if not staff.user.is_manager:
        raise Forbidden("manager_only", "Only a manager of the practice can change settings.")


def _guarded(request: Request, staff: Staff, session: Any, change: Any,
             notice: str) -> Response:
    """Apply one settings form; a refusal shows the page with why, and nothing changed."""
    try:
        _manager(staff)
        change()
    except AppError as error:  # the services validate before they change anything
        return _page(request, staff, session, error=error, status_code=http_status(error))
    return redirect("/settings", notice)


@router.get("/settings")
def settings_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    return _page(request, staff, session)


@router.post("/settings/practice", dependencies=[CsrfDep])
def save_practice(request: Request, staff: StaffDep, session: SessionDep,
                  sms_enabled: str = Form(""), default_country: str = Form("US"),
                  allowed_countries: str = Form(""), url_policy: str = Form("warn"),
                  quiet_start: str = Form("08:00"), quiet_end: str = Form("21:00"),
                  timezone: str = Form("America/New_York"), office_phone: str = Form(""),
                  link_domain: str = Form("")) -> Response:
    changes: dict[str, Any] = {
        "sms_enabled": sms_enabled == "on", "default_country": default_country.strip(),
        "allowed_countries": [c for c in re.split(r"[\s,;]+", allowed_countries) if c],
        "url_policy": url_policy, "quiet_hours": {"start": quiet_start, "end": quiet_end},
        "timezone": timezone.strip(), "link_domain": link_domain.strip() or None}
    if office_phone.strip():
        changes["office_phone"] = office_phone.strip()
    return _guarded(request, staff, session,
                    lambda: practice_service.update_practice(session, staff.practice, changes),
                    "saved")


@router.post("/settings/clinics", dependencies=[CsrfDep])
def add_clinic(request: Request, staff: StaffDep, session: SessionDep, name: str = Form(""),
               phone: str = Form(""), monthly_limit_usd: str = Form("")) -> Response:
    now = state(request).clock.now()
    return _guarded(request, staff, session, lambda: practice_service.create_clinic(
        session, staff.practice, name, phone.strip() or None, monthly_limit_usd.strip() or None,
        now), "clinic_added")


@router.post("/settings/clinics/{clinic_id}/limit", dependencies=[CsrfDep])
def set_limit(request: Request, clinic_id: Id, staff: StaffDep, session: SessionDep,
              monthly_limit_usd: str = Form("")) -> Response:
    return _guarded(request, staff, session, lambda: practice_service.set_clinic_limit(
        session, staff.practice, clinic_id, monthly_limit_usd.strip() or None), "saved")


@router.post("/settings/numbers", dependencies=[CsrfDep])
def add_number(request: Request, staff: StaffDep, session: SessionDep, clinic_id: FormId = 0,
               e164: str = Form(""), kind: str = Form("local")) -> Response:
    now = state(request).clock.now()
    return _guarded(request, staff, session, lambda: practice_service.add_number(
        session, staff.practice, clinic_id, e164, kind, now), "number_added")


@router.post("/settings/numbers/{number_id}/replies", dependencies=[CsrfDep])
def set_replies(request: Request, number_id: Id, staff: StaffDep, session: SessionDep,
                takes_replies: str = Form("")) -> Response:
    return _guarded(request, staff, session, lambda: practice_service.update_number(
        session, staff.practice, number_id, {"takes_replies": takes_replies == "on"}), "saved")
