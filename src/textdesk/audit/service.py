"""Reading the audit trail, for the API and the practice admin's Audit page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.audit import store
from textdesk.storage.models import AuditEvent


def newest(session: Session, practice_id: int, *, staff: str | None, patient_id: int | None,
           since: datetime | None, until: datetime | None, limit: int) -> list[AuditEvent]:
    """The practice's rows that match, newest first (`until` is exclusive)."""
    return store.events(session, practice_id, staff=staff, patient_id=patient_id, since=since,
                        until=until, limit=limit, newest_first=True)
