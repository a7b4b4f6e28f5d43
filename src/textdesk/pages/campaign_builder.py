"""The campaign builder: audience, body with its merge fields filled in, start time, and the
skip preview with the pace it will take, before anything is sent; then start."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.campaigns import service as campaigns
from textdesk.domain.errors import AppError, Invalid
from textdesk.domain.reasons import CATALOGUE
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render
from textdesk.practice.auth import Staff
from textdesk.storage import directory as practice_store

router = APIRouter(include_in_schema=False)


def _request(staff: Staff, form: dict[str, str]) -> dict[str, Any]:
    """The form as the campaigns service takes it (the API's own shape)."""
    audience: dict[str, Any] = {}
    if form["clinic_id"].isdigit():
        audience["clinic_id"] = int(form["clinic_id"])
    if form["no_upcoming"] == "on":
        audience["no_upcoming_appointment"] = True
    if form["last_visit_before"]:
        audience["last_visit_before"] = form["last_visit_before"]
    data: dict[str, Any] = {"name": form["name"], "body": form["body"], "audience": audience}
    if form["start_at"]:
        try:
            local = datetime.fromisoformat(form["start_at"])
        except ValueError as exc:
            raise Invalid("invalid_start_at", "Give the start as a date and a time.") from exc
        data["start_at"] = local.replace(tzinfo=ZoneInfo(staff.practice.timezone)).isoformat()
    return data


def _page(request: Request, staff: Staff, session: Any, form: dict[str, str], *,
          preview: dict[str, Any] | None = None, error: AppError | None = None) -> Response:
    return render(request, "campaign_new.html", staff=staff, session=session, form=form,
                  preview=preview, error=error, nav="campaigns",
                  clinics=practice_store.list_clinics(session, staff.practice.id),
                  reasons={code: spec for code, spec in CATALOGUE.items()},
                  status_code=422 if error else 200)


EMPTY = {"name": "", "body": "Hi {first_name}, it's time for your checkup at {clinic_name}. "
         "Reply or call {clinic_phone} to book.", "clinic_id": "", "no_upcoming": "",
         "last_visit_before": "", "start_at": ""}


@router.get("/campaigns/new")
def new_campaign(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    return _page(request, staff, session, dict(EMPTY))


@router.post("/campaigns/new", dependencies=[CsrfDep])
def build_campaign(request: Request, staff: StaffDep, session: SessionDep,
                   name: str = Form(""), body: str = Form(""), clinic_id: str = Form(""),
                   no_upcoming: str = Form(""), last_visit_before: str = Form(""),
                   start_at: str = Form(""), step: str = Form("preview")) -> Response:
    """`preview`: what starting would do, undone; `start`: start it."""
    form = {"name": name, "body": body, "clinic_id": clinic_id, "no_upcoming": no_upcoming,
            "last_visit_before": last_visit_before, "start_at": start_at}
    now = state(request).clock.now()
    try:
        data = _request(staff, form)
        if step == "start":
            campaign = campaigns.create(
                session, staff.practice, data, now, actor=staff.user.email,
                lookup_budget=state(request).settings.lookup_monthly_budget)
            return redirect(f"/campaigns#campaign-{campaign.id}", "campaign_started")
        preview = campaigns.preview(session, staff.practice, data, now)
    except AppError as error:
        return _page(request, staff, session, form, error=error)
    return _page(request, staff, session, form, preview=preview)


@router.post("/campaigns/{campaign_id}/cancel", dependencies=[CsrfDep])
def cancel_campaign(request: Request, campaign_id: Id, staff: StaffDep,
                    session: SessionDep) -> Response:
    try:
        campaigns.cancel(session, staff.practice, campaign_id, state(request).clock.now())
    except AppError as error:
        return _page(request, staff, session, dict(EMPTY), error=error)
    return redirect(f"/campaigns#campaign-{campaign_id}", "campaign_canceled")
