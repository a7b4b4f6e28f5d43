"""Queries behind the practice's health (H3): the waiting queue and recent outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from textdesk.storage.models import Message

_OUTCOMES = ("sent", "delivered", "undelivered", "failed")


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest_id: int | None
    oldest_created_at: datetime | None


def waiting(session: Session, practice_id: int) -> Waiting:
    """Outbound texts accepted and not yet handed to the carrier, and the oldest of them."""
    base = select(Message).where(Message.practice_id == practice_id,
                                 Message.direction == "outbound", Message.status == "pending")
    count = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    oldest = session.scalar(base.order_by(Message.created_at, Message.id).limit(1))
    return Waiting(int(count), oldest.id if oldest else None,
                   oldest.created_at if oldest else None)


def outcome_counts(session: Session, practice_id: int, since: datetime) -> dict[str, int]:
    """How the practice's outbound texts created since `since` ended up, by status."""
    rows = session.execute(
        select(Message.status, func.count(Message.id))
        .where(Message.practice_id == practice_id, Message.direction == "outbound",
               Message.created_at >= since, Message.status.in_(_OUTCOMES))
        .group_by(Message.status)).all()
    return {status: int(n) for status, n in rows}


def failure_causes(session: Session, practice_id: int, since: datetime) -> dict[str, int]:
    """Failed or undelivered outbound texts created since `since`, by cause, most first."""
    rows = session.execute(
        select(Message.failure_cause, func.count(Message.id))
        .where(Message.practice_id == practice_id, Message.direction == "outbound",
               Message.created_at >= since, Message.status.in_(("failed", "undelivered")))
        .group_by(Message.failure_cause)).all()
    counts = {(cause or "unknown"): int(n) for cause, n in rows}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
