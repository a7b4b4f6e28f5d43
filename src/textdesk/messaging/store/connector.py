"""Connector queries: heartbeats and the errors staff acknowledge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textdesk.storage.models import ConnectorError, ConnectorHeartbeat


def beat(session: Session, connector_id: str, host: str, now: datetime) -> None:
    row = session.get(ConnectorHeartbeat, connector_id)
    if row is None:
        session.add(ConnectorHeartbeat(connector_id=connector_id, host=host, started_at=now,
                                       last_heartbeat_at=now))
    else:
        row.last_heartbeat_at = now


def last_heartbeat(session: Session) -> datetime | None:
    return session.scalar(select(func.max(ConnectorHeartbeat.last_heartbeat_at)))


def add_error(session: Session, practice_id: int | None, code: str, message: str, at: datetime,
              message_id: int | None = None) -> None:
    session.add(ConnectorError(practice_id=practice_id, code=code, message=message, at=at,
                               message_id=message_id))


def errors_for(session: Session, practice_id: int, limit: int = 100) -> list[ConnectorError]:
    return list(session.scalars(
        select(ConnectorError)
        .where((ConnectorError.practice_id == practice_id) | ConnectorError.practice_id.is_(None))
        .order_by(ConnectorError.id.desc()).limit(limit)))


def get_error(session: Session, practice_id: int, error_id: int) -> ConnectorError | None:
    return session.scalar(select(ConnectorError).where(
        ConnectorError.id == error_id,
        (ConnectorError.practice_id == practice_id) | ConnectorError.practice_id.is_(None)))


def unacknowledged_count(session: Session, practice_id: int) -> int:
    return int(session.scalar(select(func.count(ConnectorError.id)).where(
        ConnectorError.practice_id == practice_id, ConnectorError.acknowledged_at.is_(None))) or 0)
