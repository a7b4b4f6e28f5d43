"""Every query of idempotency keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from textdesk.storage.db import insert_once
from textdesk.storage.models import IdempotencyKey


def claim(session: Session, practice_id: int, key: str, fingerprint: str, now: datetime,
          expires_at: datetime) -> tuple[bool, IdempotencyKey]:
    """(True, row) when this request now owns the key; (False, the key's row) when it is taken.

    Expired keys of the practice are dropped first, so a key lives 24 hours and no longer.
    """
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.practice_id == practice_id,
                                                 IdempotencyKey.expires_at <= now))
    row = IdempotencyKey(practice_id=practice_id, key=key, fingerprint=fingerprint,
                         created_at=now, expires_at=expires_at)
    if insert_once(session, row):
        return True, row
    existing = session.scalars(select(IdempotencyKey).where(
        IdempotencyKey.practice_id == practice_id, IdempotencyKey.key == key)).one()
    return False, existing


def find(session: Session, key_id: int) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, key_id, populate_existing=True)


def record_answer(session: Session, key_id: int, status_code: int, content_type: str | None,
                  body: str) -> None:
    session.execute(update(IdempotencyKey).where(IdempotencyKey.id == key_id).values(
        status_code=status_code, content_type=content_type, response_body=body))


def release(session: Session, key_id: int) -> None:
    """Forget a key whose request failed on our side, so that a retry runs again."""
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == key_id))
