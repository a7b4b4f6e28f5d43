"""What staff see of the connector: working or down, the queue, errors, refresh."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.connector import is_alive
from textdesk.domain.errors import NotFound
from textdesk.messaging.store import connector as connector_store, messages as message_store

# Reads other features make here; the store stays private to this package.
from textdesk.messaging.store.connector import (
    last_heartbeat as last_heartbeat,
    unacknowledged_count as unacknowledged_count,
)


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
                    "message_id": e.message_id,
                    "acknowledged": e.acknowledged_at is not None,
                    "acknowledged_at": e.acknowledged_at.isoformat() if e.acknowledged_at
                    else None} for e in errors],
    }


def texts_of_errors(session: Session, practice_id: int,
                    message_ids: list[int]) -> dict[int, Any]:
    """The text each connector error is about (its conversation, its patient), by message id."""
    found = {}
    for message_id in set(message_ids):
        message = message_store.get_message(session, practice_id, message_id)
        if message is not None:
            found[message_id] = message
    return found


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
