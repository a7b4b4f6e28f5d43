"""Automated messaging API: templates, reminder rules, each appointment's reminders and
confirmations, and recall time requests."""

from __future__ import annotations

from typing import Annotated, Any

from textdesk.appointments import service as appointment_service
from textdesk.automation import confirmations, reminders, store as store, templates
from textdesk.domain.errors import Invalid
from textdesk.domain.templates import Purpose, fields_of
from textdesk.kit.schemas import (
    Body,
    Documented,
    Id,
    LooseBool,
    LooseInt,
    LooseStr,
    LooseStrList,
    View,
)
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.messaging.api.views import iso
from textdesk.storage.models import (
    ConfirmationRequest,
    MessageTemplate,
    RecallRequest,
    ReminderRule,
    ReminderSend,
)

router = api_router(tags=["automation"])
_TEMPLATE_BODY = {"type": "string", "maxLength": 2000,
                  "example": "Hi {first_name}, see you {appt_date}."}
_PURPOSE = {"type": "string", "enum": [p.value for p in Purpose]}


class NewTemplate(Body):
    name: LooseStr = None
    purpose: Annotated[Any, Documented(_PURPOSE)] = None
    body: Annotated[Any, Documented(_TEMPLATE_BODY)] = None


class TemplateDraft(Body):
    body: Annotated[Any, Documented(_TEMPLATE_BODY)] = None
    purpose: Annotated[Any, Documented(_PURPOSE)] = None


class NewRule(Body):
    template_id: LooseInt = None
    kind: Annotated[Any, Documented({"type": "string", "enum": ["lead", "same_day"]})] = None
    lead: Annotated[Any, Documented({"type": "string", "example": "2d"})] = None
    lead_minutes: LooseInt = None
    send_time: Annotated[Any, Documented({"type": "string", "example": "07:30"})] = None
    excluded_weekdays: LooseStrList = None
    is_active: LooseBool = None


class RuleChange(Body):
    is_active: LooseBool = None


class TemplateOut(View):
    id: int
    name: str
    purpose: str
    body: str
    fields: list[str]
    created_at: str | None = None
    updated_at: str | None = None


class PreviewOut(View):
    sample: str
    characters: int
    segments: int
    encoding: str


class RuleOut(View):
    id: int
    template_id: Id
    kind: str
    lead_minutes: int
    send_time: str | None = None
    excluded_weekdays: list[str]
    is_active: bool


class ReminderOut(View):
    id: int
    rule_id: int | None = None
    status: str
    skip_reason: str | None = None
    message_id: int | None = None
    created_at: str | None = None


class ConfirmationOut(View):
    id: int
    appointment_id: Id
    message_id: int | None = None
    status: str
    created_at: str | None = None
    confirmed_at: str | None = None
    confirmed_via: str | None = None
    confirmed_by: str | None = None
    answer_message_id: int | None = None


class RecallRequestOut(View):
    id: int
    patient_id: int
    preferred_day: str
    part_of_day: str
    note: str | None = None
    created_at: str | None = None


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


# --- templates -----------------------------------------------------------------------------

@router.post("/templates", status_code=201, response_model=TemplateOut)
def post_template(body: NewTemplate, practice: PracticeDep, session: SessionDep,
                  app: StateDep) -> dict[str, Any]:
    return template_view(templates.create(session, practice, body.given(), app.clock.now()))


@router.get("/templates", response_model=list[TemplateOut])
def get_templates(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [template_view(t) for t in store.list_templates(session, practice.id)]


@router.get("/templates/{template_id}", response_model=TemplateOut)
def get_template(template_id: Id, practice: PracticeDep, session: SessionDep
                 ) -> dict[str, Any]:
    return template_view(templates.get(session, practice.id, template_id))


@router.patch("/templates/{template_id}", response_model=TemplateOut)
def patch_template(template_id: Id, body: NewTemplate, practice: PracticeDep,
                   session: SessionDep, app: StateDep) -> dict[str, Any]:
    return template_view(templates.update(session, practice, template_id, body.given(),
                                          app.clock.now()))


@router.post("/templates/preview", response_model=PreviewOut)
def preview_template(draft: TemplateDraft, practice: PracticeDep) -> dict[str, Any]:
    data = draft.given()
    return templates.preview(data.get("body"), data.get("purpose", "reminder"))


# --- reminder rules --------------------------------------------------------------------------

@router.post("/reminder-rules", status_code=201, response_model=RuleOut)
def post_rule(body: NewRule, practice: PracticeDep, session: SessionDep,
              app: StateDep) -> dict[str, Any]:
    return rule_view(reminders.create_rule(session, practice, body.given(), app.clock.now()))


@router.get("/reminder-rules", response_model=list[RuleOut])
def get_rules(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [rule_view(r) for r in store.list_rules(session, practice.id)]


@router.patch("/reminder-rules/{rule_id}", response_model=RuleOut)
def patch_rule(rule_id: Id, body: RuleChange, practice: PracticeDep,
               session: SessionDep) -> dict[str, Any]:
    data = body.given()
    if set(data) != {"is_active"}:
        raise Invalid("unknown_field", "Only is_active can change; make a new rule instead.")
    return rule_view(reminders.set_active(session, practice, rule_id, data["is_active"]))


# --- an appointment's reminders and confirmations ------------------------------------------

@router.get("/appointments/{appointment_id}/reminders", response_model=list[ReminderOut])
def appointment_reminders(appointment_id: Id, practice: PracticeDep,
                          session: SessionDep) -> list[dict[str, Any]]:
    appointment_service.get(session, practice.id, appointment_id)
    return [reminder_view(r) for r in store.reminders_of(session, practice.id, appointment_id)]


@router.get("/appointments/{appointment_id}/confirmations", response_model=list[ConfirmationOut])
def appointment_confirmations(appointment_id: Id, practice: PracticeDep,
                              session: SessionDep) -> list[dict[str, Any]]:
    """Who confirmed, how and when (G3)."""
    appointment_service.get(session, practice.id, appointment_id)
    return [confirmation_view(c)
            for c in confirmations.of_appointment(session, practice.id, appointment_id)]


@router.get("/recall-requests", response_model=list[RecallRequestOut])
def get_recall_requests(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [recall_view(r) for r in store.list_recall_requests(session, practice.id)]
