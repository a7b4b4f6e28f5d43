"""What staff see of the connector: working or down, the queue, errors, refresh."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.connector import is_alive
from textdesk.domain.errors import NotFound
from textdesk.storage import connector as connector_store
from textdesk.storage import messages as message_store


def status(session: Session, practice_id: int, now: datetime) -> dict[str, Any]:
    last = connector_store.last_heartbeat(session)
    working = is_alive(last, now)
    pending, oldest = message_store.pending_summary(session, practice_id)
    errors = connector_store.errors_for(session, practice_id)
    return {
        "status": "working" if working else "down",
        "last_heartbeat_at": last.isoformat() if last else None,
        "pending_count": pending,
        "oldest_pending_at": oldest.isoformat() if oldest else None,
        "errors": [{"id": e.id, "code": e.code, "message": e.message, "at": e.at.isoformat(),
                    "acknowledged": e.acknowledged_at is not None,
                    "acknowledged_at": e.acknowledged_at.isoformat() if e.acknowledged_at
                    else None} for e in errors],
    }


def acknowledge(session: Session, practice_id: int, error_id: int, actor: str,
                now: datetime) -> None:
    error = connector_store.get_error(session, practice_id, error_id)
    if error is None:
        raise NotFound("connector_error_not_found", "No such connector error.")
    if error.acknowledged_at is None:
        error.acknowledged_at = now
        error.acknowledged_by = actor


def refresh(session: Session, practice_id: int, now: datetime) -> int:
    """Retry now every text that waits for a retry (the Refresh button)."""
    return message_store.retry_waiting(session, practice_id, now)
