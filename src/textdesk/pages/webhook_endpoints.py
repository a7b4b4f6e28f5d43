"""The Settings page for event webhook endpoints, for the practice's managers: the endpoints
and their state, add one (its signing secret shown once), delete, turn back on, and each one's
delivery log with replay. Every change is the webhooks service's, refused as the API refuses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from textdesk.domain.errors import AppError, Forbidden
from textdesk.domain.webhooks import EventType
from textdesk.kit.errors import http_status
from textdesk.kit.schemas import Id
from textdesk.kit.web import SessionDep, state
from textdesk.pages import shown_once
from textdesk.pages.common import NOTICES, CsrfDep, StaffDep, redirect, render
from textdesk.practice.auth import Staff
from textdesk.webhooks import service as webhooks

router = APIRouter(include_in_schema=False)
PATH = "/settings/webhooks"
SHOWN_DELIVERIES = 50
EVENTS = {EventType.MESSAGE_RECEIVED: "A patient or lead texted the practice",
          EventType.MESSAGE_STATUS_CHANGED: "A text was sent, delivered, failed or canceled",
          EventType.CONSENT_CHANGED: "An opt-in or opt-out was recorded",
          EventType.APPOINTMENT_CONFIRMED: "An appointment became confirmed",
          EventType.LEAD_STAGE_CHANGED: "A lead moved to another stage"}
NOTICES.update({
    "webhook_added": "Webhook endpoint added. Copy its signing secret now: it is not shown "
                     "again.",
    "webhook_deleted": "Webhook endpoint deleted: nothing more is sent to it.",
    "webhook_enabled": "Endpoint turned back on: the events that waited are sent again now.",
    "webhook_replayed": "Delivery queued again: it is sent again shortly, under the same "
                        "webhook-id.",
})


@dataclass(frozen=True)
class Typed:
    """What the add form held, shown again when it is refused."""

    url: str = ""
    events: list[str] = field(default_factory=list)
    include_bodies: bool = False


def _manager(staff: Staff) -> None:
    if not staff.user.is_manager:
        raise Forbidden("manager_only", "Only a manager of the practice can see and change "
                                        "webhook endpoints.")


def _list_page(request: Request, staff: Staff, session: Any, *, error: AppError | None = None,
               typed: Typed | None = None) -> Response:
    now = state(request).clock.now()
    created = shown_once.take(request, staff, now)
    rows: list[Any] = []
    try:
        _manager(staff)
        waiting = {s.id: s.waiting for s in webhooks.states(session, staff.practice.id)}
        rows = [(e, waiting.get(e.id, 0)) for e in webhooks.endpoints(session, staff.practice.id)]
    except AppError as refused:
        error, created = refused, None
    response = render(request, "webhook_endpoints.html", staff=staff, session=session,
                      rows=rows, events=EVENTS, error=error, typed=typed or Typed(),
                      created=created, nav="settings",
                      status_code=http_status(error) if error else 200)
    shown_once.forget(request, response, PATH)
    return response


def _detail_page(request: Request, staff: Staff, session: Any, endpoint_id: int, *,
                 error: AppError | None = None) -> Response:
    endpoint, deliveries, status_code = None, [], http_status(error) if error else 200
    try:
        _manager(staff)
        endpoint = webhooks.get(session, staff.practice.id, endpoint_id)
        deliveries = webhooks.deliveries(session, staff.practice.id, endpoint_id, status=None,
                                         before_id=None, limit=SHOWN_DELIVERIES)
    except AppError as refused:
        error, status_code = refused, http_status(refused)
    return render(request, "webhook_endpoint.html", staff=staff, session=session,
                  endpoint=endpoint, deliveries=deliveries, shown=SHOWN_DELIVERIES,
                  events=EVENTS, error=error, nav="settings", status_code=status_code)


@router.get(PATH)
def endpoints_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    return _list_page(request, staff, session)


@router.post(PATH, dependencies=[CsrfDep])
def add_endpoint(request: Request, staff: StaffDep, session: SessionDep, url: str = Form(""),
                 events: list[str] = Form([]), include_bodies: str = Form("")) -> Response:
    app = state(request)
    typed = Typed(url[:4000], [e[:64] for e in events[:20]], include_bodies == "on")
    try:
        _manager(staff)
        endpoint, secret = webhooks.create(session, staff.practice.id, url, events,
                                           typed.include_bodies, app.settings.secret_key,
                                           app.clock.now())
    except AppError as error:  # the service checks everything before it adds anything
        return _list_page(request, staff, session, error=error, typed=typed)
    response = redirect(PATH, "webhook_added")
    shown_once.keep(request, response, staff, PATH,
                    {"id": endpoint.id, "url": endpoint.url, "secret": secret}, app.clock.now())
    return response


@router.post(PATH + "/{endpoint_id}/delete", dependencies=[CsrfDep])
def delete_endpoint(request: Request, endpoint_id: Id, staff: StaffDep,
                    session: SessionDep) -> Response:
    try:
        _manager(staff)
        webhooks.delete(session, staff.practice.id, endpoint_id)
    except AppError as error:
        return _list_page(request, staff, session, error=error)
    return redirect(PATH, "webhook_deleted")


@router.post(PATH + "/{endpoint_id}/enable", dependencies=[CsrfDep])
def enable_endpoint(request: Request, endpoint_id: Id, staff: StaffDep,
                    session: SessionDep) -> Response:
    try:
        _manager(staff)
        webhooks.enable(session, staff.practice.id, endpoint_id, state(request).clock.now())
    except AppError as error:
        return _list_page(request, staff, session, error=error)
    return redirect(PATH, "webhook_enabled")


@router.get(PATH + "/{endpoint_id}")
def endpoint_page(request: Request, endpoint_id: Id, staff: StaffDep,
                  session: SessionDep) -> Response:
    return _detail_page(request, staff, session, endpoint_id)


@router.post(PATH + "/{endpoint_id}/deliveries/{delivery_id}/replay", dependencies=[CsrfDep])
def replay_delivery(request: Request, endpoint_id: Id, delivery_id: Id, staff: StaffDep,
                    session: SessionDep) -> Response:
    try:
        _manager(staff)
        webhooks.replay(session, staff.practice.id, endpoint_id, delivery_id,
                        state(request).clock.now())
    except AppError as error:
        return _detail_page(request, staff, session, endpoint_id, error=error)
    return redirect(f"{PATH}/{endpoint_id}", "webhook_replayed")
