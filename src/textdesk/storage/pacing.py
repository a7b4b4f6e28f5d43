"""Queries of the paced claim: which numbers have paced texts due, each number's pacing row
(locked for the claim), the due texts of one number, and moving texts that must wait.

Paced texts (campaign texts) are kept spread over time (campaign fan-out plans each
text's slot; the claim moves what must wait to its new instant), so the due part of the queue
stays small and both claims read it through the (status, next_attempt_at) index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, case, exists, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textdesk.domain.pacing import PACED_KINDS
from textdesk.storage.automation import NumberPace
from textdesk.storage.models import ConsentCurrent, Message, Practice, SendingNumber

PACED_QUEUE_SQL = ("messages.status = 'pending' AND messages.kind IN ("
                   + ", ".join(f"'{k}'" for k in sorted(PACED_KINDS)) + ")")
_PACED_QUEUE = text(PACED_QUEUE_SQL)


@dataclass(frozen=True)
class Sender:
    number_id: int
    kind: str
    practice: Practice


@dataclass(frozen=True)
class Candidate:
    id: int
    to_e164: str
    segments: int


def numbers_with_due_work(session: Session, now: datetime, limit: int = 100) -> list[Sender]:
    """Active sending numbers that have paced texts due, lowest id first (the lock order)."""
    due = (select(Message.number_id).where(_PACED_QUEUE, Message.next_attempt_at <= now)
           .distinct().scalar_subquery())
    rows = session.execute(
        select(SendingNumber.id, SendingNumber.kind, Practice)
        .join(Practice, Practice.id == SendingNumber.practice_id)
        .where(SendingNumber.id.in_(due), SendingNumber.status == "active")
        .order_by(SendingNumber.id).limit(limit))
    return [Sender(number_id, kind, practice) for number_id, kind, practice in rows]


def lock_pace(session: Session, number_id: int, now: datetime, is_postgres: bool
              ) -> NumberPace | None:
    """The number's pacing row, locked for this transaction; None when another connector is
    claiming for the number right now (it will have sent what was due)."""
    values = {"number_id": number_id, "next_at": now, "day": now.date(), "day_segments": 0}
    if is_postgres:
        session.execute(postgresql.insert(NumberPace).values(**values)
                        .on_conflict_do_nothing(index_elements=["number_id"]))
        return session.scalar(select(NumberPace).where(NumberPace.number_id == number_id)
                              .with_for_update(skip_locked=True)
                              .execution_options(populate_existing=True))
    # SQLite: the claim's BEGIN IMMEDIATE already holds the only write lock.
    session.execute(sqlite.insert(NumberPace).values(**values).on_conflict_do_nothing())
    return session.get(NumberPace, number_id, populate_existing=True)


def save_pace(row: NumberPace, next_at: datetime, day: date, day_segments: int) -> None:
    row.next_at, row.day, row.day_segments = next_at, day, day_segments


def due_candidates(session: Session, number_id: int, now: datetime, limit: int
                   ) -> list[Candidate]:
    rows = session.execute(
        select(Message.id, Message.to_e164, Message.segments)
        .where(_PACED_QUEUE, Message.next_attempt_at <= now, Message.number_id == number_id,
               Message.direction == "outbound")
        .order_by(Message.next_attempt_at, Message.id).limit(limit))
    return [Candidate(i, to, seg) for i, to, seg in rows]


def postpone(session: Session, waits: Sequence[tuple[int, datetime, str]], now: datetime) -> None:
    """Move texts that must wait to their new instant, with the hold that explains it."""
    if not waits:
        return
    stmt = (update(Message.__table__)
            .where(Message.__table__.c.id == bindparam("mid"),
                   Message.__table__.c.status == "pending")
            .values(next_attempt_at=bindparam("at"), wait_reason=bindparam("why"),
                    updated_at=now))
    session.execute(stmt, [{"mid": mid, "at": at, "why": why} for mid, at, why in waits])


def claim(session: Session, ids: Sequence[int], connector_id: str, now: datetime,
          lease_until: datetime) -> list[Message]:
    """Move the admitted texts pending → sending, unless the phone opted out meanwhile."""
    if not ids:
        return []
    opted_out = exists().where(
        ConsentCurrent.practice_id == Message.practice_id,
        ConsentCurrent.phone_e164 == Message.to_e164, ConsentCurrent.state == "opted_out")
    stmt = (update(Message)
            .where(Message.id.in_(list(ids)), Message.status == "pending", ~opted_out)
            .values(status="sending", claimed_by=connector_id, lease_until=lease_until,
                    attempts=Message.attempts + 1, updated_at=now)
            .returning(Message)
            .execution_options(synchronize_session=False))
    return sorted(session.scalars(stmt), key=lambda m: ids.index(m.id))


def next_due_at(session: Session, now: datetime) -> datetime | None:
    """When the next waiting paced text comes due (the connector sleeps until then)."""
    return session.scalar(select(func.min(Message.next_attempt_at))
                          .where(_PACED_QUEUE, Message.next_attempt_at > now))


def push_next(session: Session, number_id: int, at: datetime) -> None:
    """Move the number's next slot to `at` unless it is already later."""
    session.execute(update(NumberPace).where(NumberPace.number_id == number_id)
                    .values(next_at=case((NumberPace.next_at < at, at),
                                         else_=NumberPace.next_at))
                    .execution_options(synchronize_session=False))
