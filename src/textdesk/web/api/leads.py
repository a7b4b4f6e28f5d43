"""Leads: take in (or merge), list, stage changes, consent, the lead thread, can-text."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from textdesk.domain.errors import Invalid
from textdesk.domain.leads import LeadStage, is_active
from textdesk.services import consent as consent_service
from textdesk.services import diagnostics
from textdesk.services import leads as lead_service
from textdesk.services.recipients import judge
from textdesk.storage import leads as lead_store
from textdesk.storage.leads import Lead, LeadStageChange
from textdesk.web.api.patients import ConsentRequest, consent_view
from textdesk.web.api.views import iso, message_view
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1", tags=["leads"])


class NewLead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    first_name: str
    last_name: str | None = None
    phone: str
    clinic_id: int | None = None
    source: str | None = None
    owner: str | None = None


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


@router.post("/leads", status_code=201)
def post_lead(body: NewLead, response: Response, practice: PracticeDep, session: SessionDep,
              app: StateDep) -> dict[str, Any]:
    """201 with a new lead, or 200 with `merged: true` and the open lead that has this phone."""
    data = body.model_dump(exclude_none=True)
    lead, merged = lead_service.create_lead(session, practice, data, app.clock.now(),
                                            actor="api")
    if merged:
        response.status_code = 200
    return {**lead_view(lead), "merged": merged}


@router.get("/leads")
def get_leads(practice: PracticeDep, session: SessionDep, stage: str | None = None,
              clinic_id: int | None = None) -> list[dict[str, Any]]:
    if stage is not None and stage not in {s.value for s in LeadStage}:
        raise Invalid("invalid_stage", f"Unknown stage {stage!r}.",
                      stages=[s.value for s in LeadStage])
    return [lead_view(lead) for lead in
            lead_store.list_leads(session, practice.id, stage=stage, clinic_id=clinic_id)]


@router.get("/leads/settings")
def get_lead_settings(practice: PracticeDep) -> dict[str, int]:
    return lead_service.lead_settings(practice).as_dict()


@router.patch("/leads/settings")
def patch_lead_settings(changes: dict[str, Any], practice: PracticeDep,
                        session: SessionDep) -> dict[str, int]:
    return lead_service.update_settings(practice, changes).as_dict()


@router.get("/leads/{lead_id}")
def get_lead(lead_id: int, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    lead = lead_service.get_lead(session, practice.id, lead_id)
    return lead_view(lead, lead_store.stage_history(session, practice.id, lead.id))


@router.patch("/leads/{lead_id}")
def patch_lead(lead_id: int, changes: dict[str, Any], practice: PracticeDep,
               session: SessionDep, app: StateDep) -> dict[str, Any]:
    lead = lead_service.staff_update(session, practice.id, lead_id, changes, app.clock.now())
    return lead_view(lead, lead_store.stage_history(session, practice.id, lead.id))


@router.get("/leads/{lead_id}/can-text")
def can_text(lead_id: int, practice: PracticeDep, session: SessionDep, app: StateDep,
             body: str | None = None) -> dict[str, Any]:
    recipient = lead_service.lead_recipient(session, practice.id, lead_id)
    return judge(session, recipient, now=app.clock.now(), body=body).verdict.as_dict()


@router.post("/leads/{lead_id}/consent", status_code=201)
def post_consent(lead_id: int, body: ConsentRequest, practice: PracticeDep,
                 session: SessionDep, app: StateDep) -> dict[str, Any]:
    """The same per-(practice, phone) consent as patients: an opt-out here is one there."""
    lead = lead_service.get_lead(session, practice.id, lead_id)
    action, scope, source = consent_service.parse_request(body.action, body.scope, body.source)
    consent_service.record(session, practice.id, lead.phone_e164, action, scope, source,
                           now=app.clock.now(), actor=body.actor or "staff", note=body.note,
                           patient_id=lead.patient_id, lead_id=lead.id)
    return consent_view(session, practice.id, lead.phone_e164)


@router.get("/leads/{lead_id}/consent")
def get_consent(lead_id: int, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    lead = lead_service.get_lead(session, practice.id, lead_id)
    return consent_view(session, practice.id, lead.phone_e164)


@router.get("/leads/{lead_id}/messages")
def get_messages(lead_id: int, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> list[dict[str, Any]]:
    """The lead thread, oldest first."""
    lead = lead_service.get_lead(session, practice.id, lead_id)
    now = app.clock.now()
    return [message_view(m, holds=[r.as_dict() for r in diagnostics.message_holds(session, m, now)])
            for m in lead_store.messages_of_lead(session, practice.id, lead.id)]
