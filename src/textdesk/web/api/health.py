"""The practice's health at a glance (H3): `GET /api/v1/health`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from textdesk.services.health import health
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1", tags=["health"])


@router.get("/health")
def get_health(practice: PracticeDep, session: SessionDep, app: StateDep) -> dict[str, Any]:
    """Each line `{check, status: green|amber|red, message, fix}`; `status` is the worst."""
    return health(session, practice.id, app.clock.now()).as_dict()
