"""GET /api/v1/audit: the practice's audit trail, filtered by staff, patient and time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from textdesk.audit import store
from textdesk.kit.schemas import Id, Instant, Text200
from textdesk.kit.web import PracticeDep, SessionDep
from textdesk.storage.models import AuditEvent

router = APIRouter(prefix="/api/v1", tags=["audit"])
LIMIT = 1000


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class AuditEventOut(BaseModel):
    """One row of the audit trail: who did what to whose record, when and from where."""

    id: int
    at: str
    actor: str
    staff: str | None
    ip: str | None
    action: str
    patient_id: int | None
    subject: str | None


def event_view(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": event.at.isoformat().replace("+00:00", "Z"),
            "actor": event.actor_kind, "staff": event.staff, "ip": event.ip,
            "action": event.action, "patient_id": event.patient_id, "subject": event.subject}


@router.get("/audit", response_model=list[AuditEventOut])
def get_audit(practice: PracticeDep, session: SessionDep, staff: Text200 | None = None,
              patient_id: Id | None = None, since: Instant | None = None,
              until: Instant | None = None) -> list[dict[str, Any]]:
    """Oldest first, at most 1,000 rows; page on with `since` set past the last row's `at`."""
    found = store.events(session, practice.id, staff=staff, patient_id=patient_id,
                         since=_utc(since), until=_utc(until), limit=LIMIT)
    return [event_view(e) for e in found]
