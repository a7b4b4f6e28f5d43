"""The practice's health at a glance (H3): `GET /api/v1/health`."""

from __future__ import annotations

from typing import Any

from textdesk.kit.schemas import View
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.practice.health import health

router = api_router(tags=["health"])


class HealthLine(View):
    check: str
    status: str
    message: str
    fix: str | None = None


class HealthOut(View):
    status: str
    checked_at: str
    checks: list[HealthLine]


@router.get("/health", response_model=HealthOut)
def get_health(practice: PracticeDep, session: SessionDep, app: StateDep) -> dict[str, Any]:
    """Each line `{check, status: green|amber|red, message, fix}`; `status` is the worst."""
    return health(session, practice.id, app.clock.now()).as_dict()
