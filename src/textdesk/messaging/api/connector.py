"""The connector as staff see it (A5)."""

from __future__ import annotations

from typing import Any

from textdesk.kit.schemas import Id, View
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.messaging import connector_status

router = api_router("/api/v1/connector", tags=["connector"])


class ConnectorError(View):
    id: int
    code: str | None = None
    message: str
    at: str
    acknowledged: bool


class ConnectorOut(View):
    status: str
    last_heartbeat_at: str | None = None
    pending_count: int
    oldest_pending_at: str | None = None
    errors: list[ConnectorError]


class Acknowledged(View):
    id: int
    acknowledged: bool


class Refreshed(View):
    requeued: int


@router.get("", response_model=ConnectorOut)
def get_connector(practice: PracticeDep, session: SessionDep, app: StateDep) -> dict[str, Any]:
    return connector_status.status(session, practice.id, app.clock.now())


@router.post("/errors/{error_id}/acknowledge", response_model=Acknowledged)
def acknowledge(error_id: Id, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    connector_status.acknowledge(session, practice.id, error_id, "api", app.clock.now())
    return {"id": error_id, "acknowledged": True}


@router.post("/refresh", response_model=Refreshed)
def refresh(practice: PracticeDep, session: SessionDep, app: StateDep) -> dict[str, Any]:
    return {"requeued": connector_status.refresh(session, practice.id, app.clock.now())}
