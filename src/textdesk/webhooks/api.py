"""`/api/v1/webhook-endpoints`: subscribe to events, list and remove endpoints, re-enable one,
read its delivery log and replay a delivery. The signing secret is in the create answer only.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Response
from pydantic import Field, StrictBool

from textdesk.domain.webhooks import MAX_URL_LENGTH, EventType
from textdesk.kit.schemas import MAX_ID, Body, Id, Text64, View
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.storage.models import WebhookDelivery, WebhookEndpoint
from textdesk.webhooks import service
from textdesk.webhooks.outbox import moment

router = api_router(tags=["webhooks"])
PATH = "/webhook-endpoints"
EVENT_NAMES = ", ".join(f"`{e.value}`" for e in EventType)


class EndpointIn(Body):
    url: Annotated[str, Field(max_length=MAX_URL_LENGTH + 100,
                              description="https:// (or http://) URL that receives the POSTs")]
    events: Annotated[list[Text64], Field(max_length=20, description=f"any of {EVENT_NAMES}")]
    include_bodies: StrictBool = Field(
        False, description="also send text bodies, phones and free-text reasons")


class EndpointOut(View):
    id: int
    url: str
    events: list[str]
    include_bodies: bool
    status: str = Field(description="enabled | disabled (after a day of failed deliveries)")
    consecutive_failures: int
    failing_since: str | None
    last_error: str | None
    last_delivered_at: str | None
    disabled_at: str | None
    created_at: str


class EndpointCreated(EndpointOut):
    secret: str = Field(description="whsec_… signing secret: shown in this answer only")


class EnabledOut(EndpointOut):
    requeued: int = Field(description="deliveries queued again by turning the endpoint on")


class DeliveryOut(View):
    id: int
    event_id: str = Field(description="the webhook-id header; the same on every attempt")
    event_type: str
    status: str = Field(description="pending | delivered | failed (gave up)")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None = Field(description="set while the delivery is pending")
    delivered_at: str | None
    created_at: str


def endpoint_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events),
            "include_bodies": endpoint.include_bodies, "status": endpoint.status,
            "consecutive_failures": endpoint.consecutive_failures,
            "failing_since": moment(endpoint.failing_since), "last_error": endpoint.last_error,
            "last_delivered_at": moment(endpoint.last_delivered_at),
            "disabled_at": moment(endpoint.disabled_at), "created_at": moment(endpoint.created_at)}


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    pending = delivery.status == "pending"
    return {"id": delivery.id, "event_id": delivery.event_id, "event_type": delivery.event_type,
            "status": delivery.status, "attempts": delivery.attempts,
            "last_status_code": delivery.last_status_code, "last_error": delivery.last_error,
            "last_attempt_at": moment(delivery.last_attempt_at),
            "next_attempt_at": moment(delivery.next_attempt_at) if pending else None,
            "delivered_at": moment(delivery.delivered_at),
            "created_at": moment(delivery.created_at)}


@router.post(PATH, status_code=201, response_model=EndpointCreated)
def create_endpoint(body: EndpointIn, practice: PracticeDep, session: SessionDep,
                    app: StateDep) -> dict[str, Any]:
    """Subscribe `url` to `events`; the answer's `secret` signs every delivery (keep it)."""
    endpoint, secret = service.create(session, practice.id, body.url, body.events,
                                      body.include_bodies, app.settings.secret_key,
                                      app.clock.now())
    return {**endpoint_view(endpoint), "secret": secret}


@router.get(PATH, response_model=list[EndpointOut])
def list_endpoints(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [endpoint_view(e) for e in service.endpoints(session, practice.id)]


@router.get(PATH + "/{endpoint_id}", response_model=EndpointOut)
def get_endpoint(endpoint_id: Id, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    return endpoint_view(service.get(session, practice.id, endpoint_id))


@router.delete(PATH + "/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: Id, practice: PracticeDep, session: SessionDep) -> Response:
    service.delete(session, practice.id, endpoint_id)
    return Response(status_code=204)


@router.post(PATH + "/{endpoint_id}/enable", response_model=EnabledOut)
def enable_endpoint(endpoint_id: Id, practice: PracticeDep, session: SessionDep,
                    app: StateDep) -> dict[str, Any]:
    """Turn a disabled endpoint back on once its receiver is fixed."""
    queued = service.enable(session, practice.id, endpoint_id, app.clock.now())
    return {**endpoint_view(service.get(session, practice.id, endpoint_id)), "requeued": queued}


@router.get(PATH + "/{endpoint_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(endpoint_id: Id, practice: PracticeDep, session: SessionDep,
                    status: Literal["pending", "delivered", "failed"] | None = None,
                    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict[str, Any]]:
    """The delivery log, newest first; page on with `before_id` set to the last row's id."""
    return [delivery_view(d) for d in service.deliveries(
        session, practice.id, endpoint_id, status=status, before_id=before_id, limit=limit)]


@router.post(PATH + "/{endpoint_id}/deliveries/{delivery_id}/replay", status_code=202,
             response_model=DeliveryOut)
def replay_delivery(endpoint_id: Id, delivery_id: Id, practice: PracticeDep,
                    session: SessionDep, app: StateDep) -> dict[str, Any]:
    """Send it again now: the same body and `webhook-id`, a fresh retry schedule."""
    return delivery_view(service.replay(session, practice.id, endpoint_id, delivery_id,
                                        app.clock.now()))
