"""The leads board: one column per stage, move a lead, open its conversation to text it."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.domain import leads as lead_rules
from textdesk.domain.errors import AppError
from textdesk.domain.leads import LeadSource, LeadStage
from textdesk.inbox import service as inbox_service
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.leads import service as lead_service, service as leads
from textdesk.pages.common import CsrfDep, StaffDep, redirect, render
from textdesk.pages.inbox import problem

router = APIRouter(include_in_schema=False)

# The newest leads of each stage: active ones are worked, so more of them show; closed stages
# grow without end and are looked at rarely.
COLUMN_SIZE = {True: 50, False: 20}


@router.get("/leads")
def leads_board(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    columns = [(stage, leads.list_leads(session, staff.practice.id, stage=stage.value,
                                             limit=COLUMN_SIZE[lead_rules.is_active(stage)]))
               for stage in LeadStage]
    moves = {stage.value: sorted((t for t in lead_rules.TRANSITIONS[stage]),
                                 key=list(LeadStage).index) for stage in LeadStage}
    return render(request, "leads.html", staff=staff, session=session, columns=columns,
                  moves=moves, sources=[s.value for s in LeadSource],
                  closed=lead_rules.CLOSED_STAGES, active=lead_rules.ACTIVE_STAGES,
                  sizes=COLUMN_SIZE, nav="leads")


@router.post("/leads/{lead_id}/stage", dependencies=[CsrfDep])
def move_lead(request: Request, lead_id: Id, staff: StaffDep, session: SessionDep,
              stage: str = Form(""), reason: str = Form("")) -> Response:
    try:
        lead_service.staff_update(session, staff.practice.id, lead_id,
                                  {"stage": stage, "reason": reason.strip() or "moved on the board",
                                   "actor": staff.user.email[:100]},
                                  state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/leads#lead-{lead_id}", "stage_changed")


@router.post("/leads", dependencies=[CsrfDep])
def add_lead(request: Request, staff: StaffDep, session: SessionDep,
             first_name: str = Form(""), last_name: str = Form(""), phone: str = Form(""),
             source: str = Form("call")) -> Response:
    try:
        lead, merged = lead_service.create_lead(
            session, staff.practice, {"first_name": first_name, "last_name": last_name,
                                      "phone": phone, "source": source},
            state(request).clock.now(), actor=staff.user.email)
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/leads#lead-{lead.id}", "lead_merged" if merged else "lead_added")


@router.post("/leads/{lead_id}/reopen", dependencies=[CsrfDep])
def reopen_lead(request: Request, lead_id: Id, staff: StaffDep, session: SessionDep,
                reason: str = Form("")) -> Response:
    try:
        lead_service.reopen_lead(session, staff.practice.id, lead_id, state(request).clock.now(),
                                 reason=reason, actor=staff.user.email[:100])
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/leads#lead-{lead_id}", "lead_reopened")


@router.post("/leads/{lead_id}/conversation", dependencies=[CsrfDep])
def open_lead_conversation(request: Request, lead_id: Id, staff: StaffDep,
                           session: SessionDep) -> Response:
    try:
        conversation = inbox_service.conversation_for_lead(session, staff.practice.id, lead_id,
                                                           state(request).clock.now())
    except AppError as error:
        return problem(request, staff, session, error)
    return redirect(f"/conversations/{conversation.id}")
