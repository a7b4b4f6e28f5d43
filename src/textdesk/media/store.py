"""Every query of the media feature (private to it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from textdesk.storage.db import is_postgres_session
from textdesk.storage.models import MediaItem


def get(session: Session, practice_id: int, media_id: int) -> MediaItem | None:
    return session.scalar(select(MediaItem).where(MediaItem.id == media_id,
                                                  MediaItem.practice_id == practice_id))


def get_any(session: Session, media_id: int) -> MediaItem | None:
    """By id alone: only for a signed link, whose signature names the file."""
    return session.get(MediaItem, media_id)


def many(session: Session, practice_id: int, media_ids: Iterable[int]) -> list[MediaItem]:
    ids = list(set(media_ids))
    if not ids:
        return []
    return list(session.scalars(select(MediaItem).where(
        MediaItem.practice_id == practice_id, MediaItem.id.in_(ids))))


def of_messages(session: Session, message_ids: Iterable[int]) -> dict[int, list[MediaItem]]:
    """Each message's files in their order (one query for a whole thread)."""
    ids = list(set(message_ids))
    found: dict[int, list[MediaItem]] = {}
    if not ids:
        return found
    rows = session.scalars(select(MediaItem).where(MediaItem.message_id.in_(ids))
                           .order_by(MediaItem.message_id, MediaItem.position, MediaItem.id))
    for row in rows:
        found.setdefault(row.message_id or 0, []).append(row)
    return found


def due_fetches(session: Session, now: datetime, limit: int) -> list[MediaItem]:
    """Patients' files waiting to be fetched, oldest first; locked rows are skipped on
    PostgreSQL so several connectors never fetch the same file at once."""
    query = (select(MediaItem)
             .where(MediaItem.status == "pending",
                    or_(MediaItem.next_attempt_at.is_(None), MediaItem.next_attempt_at <= now))
             .order_by(MediaItem.id).limit(limit))
    if is_postgres_session(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))

