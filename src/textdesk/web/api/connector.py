"""The connector as staff see it (A5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from textdesk.services import connector_status
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1/connector", tags=["connector"])


@router.get("")
def get_connector(practice: PracticeDep, session: SessionDep, app: StateDep) -> dict[str, Any]:
    return connector_status.status(session, practice.id, app.clock.now())


@router.post("/errors/{error_id}/acknowledge")
def acknowledge(error_id: int, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    connector_status.acknowledge(session, practice.id, error_id, "api", app.clock.now())
    return {"id": error_id, "acknowledged": True}


@router.post("/refresh")
def refresh(practice: PracticeDep, session: SessionDep, app: StateDep) -> dict[str, Any]:
    return {"requeued": connector_status.refresh(session, practice.id, app.clock.now())}
