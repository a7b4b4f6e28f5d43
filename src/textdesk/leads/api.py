"""Leads: take in (or merge), list, stage changes, consent, the lead thread, can-text."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import Field

from textdesk.consent import service as consent_service
from textdesk.domain.errors import Invalid
from textdesk.domain.leads import LeadStage, is_active
from textdesk.kit.schemas import (
    Body,
    Id,
    LooseInt,
    LooseStr,
    LooseText2000,
    Text10k,
    Text20,
    Text40,
    Text100,
    Text200,
    View,
)
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.leads import service as lead_service, store as lead_store
from textdesk.media import service as media
from textdesk.messaging.api.views import ConsentOut, MessageOut, VerdictOut, iso, message_view
from textdesk.messaging.recipients import judge
from textdesk.practice import diagnostics
from textdesk.practice.api.patients import ConsentRequest, consent_view
from textdesk.storage.models import Lead, LeadStageChange

router = api_router(tags=["leads"])


class NewLead(Body):
    first_name: Text100
    last_name: Text100 | None = None
    phone: Text40
    clinic_id: Id | None = None
    source: Text40 | None = None
    owner: Text200 | None = None


class LeadChanges(Body):
    stage: LooseStr = None
    reason: LooseText2000 = None
    actor: LooseStr = None
    owner: LooseStr = None
    first_name: LooseStr = None
    last_name: LooseStr = None


class LeadSettingsChanges(Body):
    lead_appointment_window_days: LooseInt = None
    lead_inactivity_days: LooseInt = None


class LeadSettingsOut(View):
    lead_appointment_window_days: int
    lead_inactivity_days: int


class StageChangeOut(View):
    from_: str | None = Field(None, alias="from")
    to: str
    by: str
    actor: str | None = None
    reason: str | None = None
    at: str | None = None


class LeadOut(View):
    id: int
    clinic_id: int | None = None
    patient_id: int | None = None
    first_name: str
    last_name: str | None = None
    phone: str | None = None
    phone_raw: str | None = None
    source: str | None = None
    owner: str | None = None
    stage: str
    is_active: bool
    inquiry_count: int
    last_activity_at: str | None = None
    stage_changed_at: str | None = None
    created_at: str | None = None
    stage_history: list[StageChangeOut] | None = None


class LeadTaken(LeadOut):
    merged: bool


def lead_view(lead: Lead, history: list[LeadStageChange] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": lead.id, "clinic_id": lead.clinic_id, "patient_id": lead.patient_id,
        "first_name": lead.first_name, "last_name": lead.last_name, "phone": lead.phone_e164,
        "phone_raw": lead.phone_raw, "source": lead.source, "owner": lead.owner,
        "stage": lead.stage, "is_active": is_active(LeadStage(lead.stage)),
        "inquiry_count": lead.inquiry_count, "last_activity_at": iso(lead.last_activity_at),
        "stage_changed_at": iso(lead.stage_changed_at), "created_at": iso(lead.created_at),
    }
    if history is not None:
        view["stage_history"] = [stage_change_view(c) for c in history]
    return view


def stage_change_view(change: LeadStageChange) -> dict[str, Any]:
    return {"from": change.from_stage, "to": change.to_stage, "by": change.changed_by,
            "actor": change.actor, "reason": change.reason, "at": iso(change.at)}


@router.post("/leads", status_code=201, response_model=LeadTaken)
def post_lead(body: NewLead, response: Response, practice: PracticeDep, session: SessionDep,
              app: StateDep) -> dict[str, Any]:
    """201 with a new lead, or 200 with `merged: true` and the open lead that has this phone."""
    data = body.model_dump(exclude_none=True)
    lead, merged = lead_service.create_lead(session, practice, data, app.clock.now(),
                                            actor="api")
    if merged:
        response.status_code = 200
    return {**lead_view(lead), "merged": merged}


@router.get("/leads", response_model=list[LeadOut])
def get_leads(practice: PracticeDep, session: SessionDep, stage: Text20 | None = None,
              clinic_id: Id | None = None) -> list[dict[str, Any]]:
    if stage is not None and stage not in {s.value for s in LeadStage}:
        raise Invalid("invalid_stage", f"Unknown stage {stage!r}.",
                      stages=[s.value for s in LeadStage])
    return [lead_view(lead) for lead in
            lead_store.list_leads(session, practice.id, stage=stage, clinic_id=clinic_id)]


@router.get("/leads/settings", response_model=LeadSettingsOut)
def get_lead_settings(practice: PracticeDep) -> dict[str, int]:
    return lead_service.lead_settings(practice).as_dict()


@router.patch("/leads/settings", response_model=LeadSettingsOut)
def patch_lead_settings(body: LeadSettingsChanges, practice: PracticeDep,
                        session: SessionDep) -> dict[str, int]:
    return lead_service.update_settings(practice, body.given()).as_dict()


@router.get("/leads/{lead_id}", response_model=LeadOut)
def get_lead(lead_id: Id, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    lead = lead_service.get_lead(session, practice.id, lead_id)
    return lead_view(lead, lead_store.stage_history(session, practice.id, lead.id))


@router.patch("/leads/{lead_id}", response_model=LeadOut)
def patch_lead(lead_id: Id, body: LeadChanges, practice: PracticeDep,
               session: SessionDep, app: StateDep) -> dict[str, Any]:
    lead = lead_service.staff_update(session, practice.id, lead_id, body.given(),
                                     app.clock.now())
    return lead_view(lead, lead_store.stage_history(session, practice.id, lead.id))


@router.get("/leads/{lead_id}/can-text", response_model=VerdictOut)
def can_text(lead_id: Id, practice: PracticeDep, session: SessionDep, app: StateDep,
             body: Text10k | None = None) -> dict[str, Any]:
    recipient = lead_service.lead_recipient(session, practice.id, lead_id)
    return judge(session, recipient, now=app.clock.now(), body=body).verdict.as_dict()


@router.post("/leads/{lead_id}/consent", status_code=201, response_model=ConsentOut)
def post_consent(lead_id: Id, body: ConsentRequest, practice: PracticeDep,
                 session: SessionDep, app: StateDep) -> dict[str, Any]:
    """The same per-(practice, phone) consent as patients: an opt-out here is one there."""
    lead = lead_service.get_lead(session, practice.id, lead_id)
    action, scope, source = consent_service.parse_request(body.action, body.scope, body.source)
    consent_service.record(session, practice.id, lead.phone_e164, action, scope, source,
                           now=app.clock.now(), actor=body.actor or "staff", note=body.note,
                           patient_id=lead.patient_id, lead_id=lead.id)
    return consent_view(session, practice.id, lead.phone_e164)


@router.get("/leads/{lead_id}/consent", response_model=ConsentOut)
def get_consent(lead_id: Id, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    lead = lead_service.get_lead(session, practice.id, lead_id)
    return consent_view(session, practice.id, lead.phone_e164)


@router.get("/leads/{lead_id}/messages", response_model=list[MessageOut])
def get_messages(lead_id: Id, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> list[dict[str, Any]]:
    """The lead thread, oldest first."""
    lead = lead_service.get_lead(session, practice.id, lead_id)
    now = app.clock.now()
    messages = lead_store.messages_of_lead(session, practice.id, lead.id)
    files = media.views_of(session, [m.id for m in messages if m.num_media])
    return [message_view(m, holds=[r.as_dict() for r in diagnostics.message_holds(session, m, now)],
                         media=files.get(m.id))
            for m in messages]
