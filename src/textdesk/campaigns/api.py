"""Campaigns API (G4): create, list, progress, pause, resume, cancel; each number's pace."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from pydantic import ConfigDict, Field
from sqlalchemy.orm import Session

from textdesk.campaigns import audiences, pacing, service as campaigns
from textdesk.domain.errors import NotFound
from textdesk.kit.schemas import (
    Body,
    CsvText,
    Documented,
    Id,
    LooseInt,
    LooseNumber,
    LooseStr,
    Moment,
    Text2000,
    View,
)
from textdesk.kit.web import (
    AppState,
    CallerDep,
    PracticeDep,
    SessionDep,
    StateDep,
    api_router,
    require_admin,
)
from textdesk.messaging.api.views import iso
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Campaign, Practice

router = api_router(tags=["campaigns"])


class NewCampaign(Body):
    name: LooseStr = None
    template_id: Id | None = None
    body: Text2000 | None = None
    audience: Annotated[Any, Documented({"type": "object", "properties": {
        "clinic_id": {"type": "integer"}, "no_upcoming_appointment": {"type": "boolean"},
        "last_visit_before": {"type": "string", "format": "date"}},
        "description": "Filters; unknown ones are refused with invalid_audience"})] = None
    audience_csv: CsvText | None = Field(
        None, description="A CSV with a patient_id or a phone column: at most 500,000 bytes "
                          "(413 payload_too_large) and 50,000 rows (422 invalid_csv)")
    start_at: Moment | None = None


class PaceGrant(Body):
    """Unknown keys are refused with `invalid_pace`, as the pacing rules say."""

    model_config = ConfigDict(extra="allow")
    segments_per_second: LooseNumber = None
    daily_cap: LooseInt = None
    burst_segments: LooseInt = None


class PaceOut(View):
    number_id: int
    kind: str
    segments_per_second: float
    daily_cap: int | None = None
    burst_segments: int | None = None
    next_slot_at: str | None = None
    segments_today: int


class ProgressOut(View):
    recipients: int
    queued: int
    sent: int
    delivered: int
    failed: int
    canceled: int
    canceled_by_reason: dict[str, int] = {}
    expired: int = 0  # canceled unsent: they could only have left after their day
    skipped: int
    skipped_by_reason: dict[str, int]


class CampaignOut(View):
    id: int
    name: str
    status: str
    template_id: int | None = None
    body: str
    audience: dict[str, Any]
    start_at: str | None = None
    recipients: int
    created_at: str | None = None
    progress: ProgressOut | None = None


def campaign_view(c: Campaign, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    view = {"id": c.id, "name": c.name, "status": c.status, "template_id": c.template_id,
            "body": c.body, "audience": c.audience, "start_at": iso(c.start_at),
            "recipients": c.recipients, "created_at": iso(c.created_at)}
    if progress is not None:
        view["progress"] = progress
    return view


# --- sending numbers' pace ------------------------------------------------------------------

@router.put("/admin/numbers/{number_id}/pace", dependencies=[Depends(require_admin)],
            response_model=PaceOut)
def put_pace(number_id: Id, body: PaceGrant, session: SessionDep,
             app: StateDep) -> dict[str, Any]:
    """The operator records the throughput and daily cap the carrier granted a number (G4)."""
    pacing.grant(session, number_id, body.given(), app.clock.now())
    number = practice_store.get_number(session, number_id)
    assert number is not None
    return pacing.describe(session, number)


@router.get("/numbers/{number_id}/pace", response_model=PaceOut)
def get_pace(number_id: Id, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    number = practice_store.get_number(session, number_id)
    if number is None or number.practice_id != practice.id:
        raise NotFound("number_not_found", "No such sending number.")
    return pacing.describe(session, number)


# --- campaigns -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CampaignRequest:
    data: dict[str, Any]
    audience_csv: audiences.AudienceCsv | None


def campaign_request(body: NewCampaign, caller: CallerDep) -> CampaignRequest:
    """The body, its CSV parsed and judged: before the write transaction opens (decision 0143)."""
    data = body.given()
    text = data.pop("audience_csv", None)
    return CampaignRequest(data, audiences.parse_csv(text, caller.default_country)
                           if text is not None else None)


@router.post("/campaigns", status_code=201, response_model=CampaignOut)
def post_campaign(request: Annotated[CampaignRequest, Depends(campaign_request)],
                  practice: PracticeDep, session: SessionDep, app: StateDep) -> dict[str, Any]:
    now = app.clock.now()
    campaign = campaigns.create(session, practice, request.data, now,
                                lookup_budget=app.settings.lookup_monthly_budget,
                                audience_csv=request.audience_csv)
    return campaign_view(campaign, campaigns.progress(session, practice, campaign.id))


@router.get("/campaigns", response_model=list[CampaignOut])
def get_campaigns(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [campaign_view(c) for c in campaigns.list_campaigns(session, practice.id)]


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: Id, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> dict[str, Any]:
    progress = campaigns.progress(session, practice, campaign_id)
    return campaign_view(campaigns.read(session, practice.id, campaign_id), progress)


def _changed(change: Any, campaign_id: int, practice: Practice, session: Session,
             app: AppState) -> dict[str, Any]:
    """Pause, resume or cancel (`change`), answered with the campaign and its progress."""
    campaign = change(session, practice, campaign_id, app.clock.now())
    return campaign_view(campaign, campaigns.progress(session, practice, campaign_id))


@router.post("/campaigns/{campaign_id}/pause", response_model=CampaignOut)
def pause_campaign(campaign_id: Id, practice: PracticeDep, session: SessionDep,
                   app: StateDep) -> dict[str, Any]:
    return _changed(campaigns.pause, campaign_id, practice, session, app)


@router.post("/campaigns/{campaign_id}/resume", response_model=CampaignOut)
def resume_campaign(campaign_id: Id, practice: PracticeDep, session: SessionDep,
                    app: StateDep) -> dict[str, Any]:
    return _changed(campaigns.resume, campaign_id, practice, session, app)


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignOut)
def cancel_campaign(campaign_id: Id, practice: PracticeDep, session: SessionDep,
                    app: StateDep) -> dict[str, Any]:
    return _changed(campaigns.cancel, campaign_id, practice, session, app)
