"""Automated messaging API: templates, reminder rules, appointment import, each appointment's
reminders and confirmations, recall time requests, and campaigns."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.templates import fields_of
from textdesk.services import appointments as appointment_service
from textdesk.services import (
    appointments_import,
    campaigns,
    confirmations,
    pacing,
    reminders,
    templates,
)
from textdesk.storage import automation as store
from textdesk.storage import campaigns as campaign_store
from textdesk.storage import practices as practice_store
from textdesk.storage.automation import (
    ConfirmationRequest,
    MessageTemplate,
    RecallRequest,
    ReminderRule,
    ReminderSend,
)
from textdesk.storage.campaigns import Campaign
from textdesk.web.api.views import iso
from textdesk.web.deps import PracticeDep, SessionDep, StateDep, require_admin

router = APIRouter(prefix="/api/v1", tags=["automation"])


def template_view(t: MessageTemplate) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "purpose": t.purpose, "body": t.body,
            "fields": sorted(fields_of(t.body)),
            "created_at": iso(t.created_at), "updated_at": iso(t.updated_at)}


def rule_view(r: ReminderRule) -> dict[str, Any]:
    return {"id": r.id, "template_id": r.template_id, "kind": r.kind,
            "lead_minutes": r.lead_minutes, "send_time": r.send_time,
            "excluded_weekdays": [reminders.WEEKDAYS[d] for d in r.excluded_weekdays],
            "is_active": r.is_active}


def reminder_view(r: ReminderSend) -> dict[str, Any]:
    return {"id": r.id, "rule_id": r.rule_id, "status": r.status, "skip_reason": r.skip_reason,
            "message_id": r.message_id, "created_at": iso(r.created_at)}


def confirmation_view(c: ConfirmationRequest) -> dict[str, Any]:
    return {"id": c.id, "appointment_id": c.appointment_id, "message_id": c.message_id,
            "status": c.status, "created_at": iso(c.created_at),
            "confirmed_at": iso(c.answered_at) if c.status == "confirmed" else None,
            "confirmed_via": c.answered_via, "confirmed_by": c.answered_by,
            "answer_message_id": c.answer_message_id}


def recall_view(r: RecallRequest) -> dict[str, Any]:
    return {"id": r.id, "patient_id": r.patient_id, "preferred_day": r.preferred_day.isoformat(),
            "part_of_day": r.part_of_day, "note": r.note, "created_at": iso(r.created_at)}


def campaign_view(c: Campaign, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    view = {"id": c.id, "name": c.name, "status": c.status, "template_id": c.template_id,
            "body": c.body, "audience": c.audience, "start_at": iso(c.start_at),
            "recipients": c.recipients, "created_at": iso(c.created_at)}
    if progress is not None:
        view["progress"] = progress
    return view


# --- templates -----------------------------------------------------------------------------

@router.post("/templates", status_code=201)
def post_template(data: dict[str, Any], practice: PracticeDep, session: SessionDep,
                  app: StateDep) -> dict[str, Any]:
    return template_view(templates.create(session, practice, data, app.clock.now()))


@router.get("/templates")
def get_templates(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [template_view(t) for t in store.list_templates(session, practice.id)]


@router.get("/templates/{template_id}")
def get_template(template_id: int, practice: PracticeDep, session: SessionDep
                 ) -> dict[str, Any]:
    return template_view(templates.get(session, practice.id, template_id))


@router.patch("/templates/{template_id}")
def patch_template(template_id: int, data: dict[str, Any], practice: PracticeDep,
                   session: SessionDep, app: StateDep) -> dict[str, Any]:
    return template_view(templates.update(session, practice, template_id, data,
                                          app.clock.now()))


@router.post("/templates/preview")
def preview_template(data: dict[str, Any], practice: PracticeDep) -> dict[str, Any]:
    return templates.preview(data.get("body"), data.get("purpose", "reminder"))


# --- reminder rules --------------------------------------------------------------------------

@router.post("/reminder-rules", status_code=201)
def post_rule(data: dict[str, Any], practice: PracticeDep, session: SessionDep,
              app: StateDep) -> dict[str, Any]:
    return rule_view(reminders.create_rule(session, practice, data, app.clock.now()))


@router.get("/reminder-rules")
def get_rules(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [rule_view(r) for r in store.list_rules(session, practice.id)]


@router.patch("/reminder-rules/{rule_id}")
def patch_rule(rule_id: int, data: dict[str, Any], practice: PracticeDep,
               session: SessionDep) -> dict[str, Any]:
    if set(data) != {"is_active"}:
        raise Invalid("unknown_field", "Only is_active can change; make a new rule instead.")
    return rule_view(reminders.set_active(session, practice, rule_id, data["is_active"]))


# --- appointments ----------------------------------------------------------------------------

@router.post("/appointments/import")
async def import_appointments(request: Request, practice: PracticeDep, session: SessionDep,
                              app: StateDep) -> dict[str, Any]:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("invalid_csv", "The CSV must be UTF-8 text.") from exc
    return appointments_import.import_csv(session, practice, text, app.clock.now())


@router.get("/appointments/{appointment_id}/reminders")
def appointment_reminders(appointment_id: int, practice: PracticeDep,
                          session: SessionDep) -> list[dict[str, Any]]:
    appointment_service.get(session, practice.id, appointment_id)
    return [reminder_view(r) for r in store.reminders_of(session, practice.id, appointment_id)]


@router.get("/appointments/{appointment_id}/confirmations")
def appointment_confirmations(appointment_id: int, practice: PracticeDep,
                              session: SessionDep) -> list[dict[str, Any]]:
    """Who confirmed, how and when (G3)."""
    appointment_service.get(session, practice.id, appointment_id)
    return [confirmation_view(c)
            for c in confirmations.of_appointment(session, practice.id, appointment_id)]


@router.get("/recall-requests")
def get_recall_requests(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [recall_view(r) for r in store.list_recall_requests(session, practice.id)]


# --- sending numbers' pace ------------------------------------------------------------------

@router.put("/admin/numbers/{number_id}/pace", dependencies=[Depends(require_admin)])
def put_pace(number_id: int, data: dict[str, Any], session: SessionDep,
             app: StateDep) -> dict[str, Any]:
    """The operator records the throughput and daily cap the carrier granted a number (G4)."""
    pacing.grant(session, number_id, data, app.clock.now())
    number = practice_store.get_number(session, number_id)
    assert number is not None
    return pacing.describe(session, number)


@router.get("/numbers/{number_id}/pace")
def get_pace(number_id: int, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    number = practice_store.get_number(session, number_id)
    if number is None or number.practice_id != practice.id:
        raise NotFound("number_not_found", "No such sending number.")
    return pacing.describe(session, number)


# --- campaigns -------------------------------------------------------------------------------

@router.post("/campaigns", status_code=201)
def post_campaign(data: dict[str, Any], practice: PracticeDep, session: SessionDep,
                  app: StateDep) -> dict[str, Any]:
    now = app.clock.now()
    campaign = campaigns.create(session, practice, data, now, is_postgres=not app.db.is_sqlite)
    return campaign_view(campaign, campaigns.progress(session, practice, campaign.id, now))


@router.get("/campaigns")
def get_campaigns(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [campaign_view(c) for c in campaign_store.list_campaigns(session, practice.id)]


@router.get("/campaigns/{campaign_id}")
def get_campaign(campaign_id: int, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> dict[str, Any]:
    progress = campaigns.progress(session, practice, campaign_id, app.clock.now())
    return campaign_view(campaigns.get(session, practice.id, campaign_id), progress)


@router.post("/campaigns/{campaign_id}/pause")
def pause_campaign(campaign_id: int, practice: PracticeDep, session: SessionDep,
                   app: StateDep) -> dict[str, Any]:
    now = app.clock.now()
    campaign = campaigns.pause(session, practice, campaign_id, now)
    return campaign_view(campaign, campaigns.progress(session, practice, campaign_id, now))


@router.post("/campaigns/{campaign_id}/resume")
def resume_campaign(campaign_id: int, practice: PracticeDep, session: SessionDep,
                    app: StateDep) -> dict[str, Any]:
    now = app.clock.now()
    campaign = campaigns.resume(session, practice, campaign_id, now,
                                is_postgres=not app.db.is_sqlite)
    return campaign_view(campaign, campaigns.progress(session, practice, campaign_id, now))


@router.post("/campaigns/{campaign_id}/cancel")
def cancel_campaign(campaign_id: int, practice: PracticeDep, session: SessionDep,
                    app: StateDep) -> dict[str, Any]:
    now = app.clock.now()
    campaign = campaigns.cancel(session, practice, campaign_id, now)
    return campaign_view(campaign, campaigns.progress(session, practice, campaign_id, now))
