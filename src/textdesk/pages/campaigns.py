"""The campaigns page: each campaign's progress (queued, sent, delivered, failed, skipped by
reason), and pause / resume."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from textdesk.campaigns import service as campaigns
from textdesk.domain.errors import AppError
from textdesk.domain.reasons import CATALOGUE
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render
from textdesk.pages.inbox import problem

router = APIRouter(include_in_schema=False)


@router.get("/campaigns")
def campaigns_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    rows = [(c, campaigns.progress(session, staff.practice, c.id))
            for c in campaigns.list_campaigns(session, staff.practice.id)]
    reasons = {code: spec.message for code, spec in CATALOGUE.items()}
    return render(request, "campaigns.html", staff=staff, session=session, rows=rows,
                  reasons=reasons, nav="campaigns")


@router.post("/campaigns/{campaign_id}/pause", dependencies=[CsrfDep])
def pause(request: Request, campaign_id: Id, staff: StaffDep, session: SessionDep) -> Response:
    try:
        campaigns.pause(session, staff.practice, campaign_id, state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/campaigns#campaign-{campaign_id}")


@router.post("/campaigns/{campaign_id}/resume", dependencies=[CsrfDep])
def resume(request: Request, campaign_id: Id, staff: StaffDep, session: SessionDep) -> Response:
    try:
        campaigns.resume(session, staff.practice, campaign_id, state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/campaigns#campaign-{campaign_id}")
