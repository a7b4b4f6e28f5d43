"""Queries of the paced claim: which numbers have paced texts due, each number's pacing row
(locked for the claim), the due texts of one number, and moving texts that must wait.

Paced (campaign) texts waiting to leave are a queue of their own under a partial index, so
the paced claim reads only them, never the backlog of staff texts, and costs an empty index
probe when no campaign runs. Campaign fan-out plans each text's slot and the claim moves what
must wait to its new instant, so the due part of this queue stays small.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, bindparam, case, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textdesk.domain.messages import claim_move
from textdesk.domain.pacing import PACED_KINDS
from textdesk.storage.db import cast_table, is_postgres_session
from textdesk.storage.models import PACED_INDEX_NAME, Message, NumberPace, Practice, SendingNumber
from textdesk.storage.opt_out import stopped_by_opt_out

# Written out, not bound: a partial index serves a query that repeats its condition with the
# same constants.
_KINDS = ", ".join(f"'{k}'" for k in sorted(PACED_KINDS))
_PACED_QUEUE = text(f"messages.status = 'pending' AND messages.kind IN ({_KINDS})")
PACED_INDEX = PACED_INDEX_NAME  # defined with the tables, in storage.models.indexes


def _paced(query: Select) -> Select:  # type: ignore[type-arg]
    """The paced queue's condition, written as the partial index's, so the index serves it."""
    return query.where(_PACED_QUEUE)


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
    due = list(session.scalars(_paced(select(Message.number_id))
                               .where(Message.next_attempt_at <= now).distinct()))
    if not due:  # the common pass: one probe of an empty index, nothing else
        return []
    rows = session.execute(
        select(SendingNumber.id, SendingNumber.kind, Practice)
        .join(Practice, Practice.id == SendingNumber.practice_id)
        .where(SendingNumber.id.in_([n for n in due if n is not None]),
               SendingNumber.status == "active")
        .order_by(SendingNumber.id).limit(limit))
    return [Sender(number_id, kind, practice) for number_id, kind, practice in rows]


def lock_pace(session: Session, number_id: int, now: datetime) -> NumberPace | None:
    """The number's pacing row, locked for this transaction; None when another connector is
    claiming for the number right now (it will have sent what was due)."""
    values = {"number_id": number_id, "next_at": now, "day": now.date(), "day_segments": 0}
    if is_postgres_session(session):
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
        _paced(select(Message.id, Message.to_e164, Message.segments))
        .where(Message.next_attempt_at <= now, Message.number_id == number_id,
               Message.direction == "outbound")
        .order_by(Message.next_attempt_at, Message.id).limit(limit))
    return [Candidate(i, to, seg) for i, to, seg in rows]


def postpone(session: Session, waits: Sequence[tuple[int, datetime, str, datetime]],
             now: datetime) -> None:
    """Move texts that must wait to their new instant, with the hold that explains it; a text
    still valid takes its validity along to its new slot's day (`until`): the campaign's own
    pace and window moved it, so its day moves too. An expired one keeps its expiry."""
    if not waits:
        return
    table = cast_table(Message)
    until = bindparam("until", type_=table.c.expires_at.type)
    still_valid = and_(table.c.expires_at.is_not(None), table.c.expires_at > bindparam(
        "now", type_=table.c.expires_at.type), table.c.expires_at < until)
    stmt = (update(table)
            .where(table.c.id == bindparam("mid"), table.c.status == "pending")
            .values(next_attempt_at=bindparam("at"), wait_reason=bindparam("why"),
                    expires_at=case((still_valid, until), else_=table.c.expires_at),
                    updated_at=now))
    session.execute(stmt, [{"mid": mid, "at": at, "why": why, "until": end, "now": now}
                           for mid, at, why, end in waits])


def claim(session: Session, ids: Sequence[int], connector_id: str, now: datetime,
          lease_until: datetime) -> list[Message]:
    """Take the admitted texts through the claim step (statuses from the transition table),
    unless the phone's opt-out stops them meanwhile (the one predicate, `storage.opt_out`)."""
    if not ids:
        return []
    claimable, claimed = claim_move()
    stmt = (update(Message)
            .where(Message.id.in_(list(ids)), Message.status.in_(sorted(claimable)),
                   ~stopped_by_opt_out())
            .values(status=claimed.value, claimed_by=connector_id, lease_until=lease_until,
                    attempts=Message.attempts + 1, updated_at=now)
            .returning(Message)
            .execution_options(synchronize_session=False))
    return sorted(session.scalars(stmt), key=lambda m: ids.index(m.id))


def next_due_at(session: Session, now: datetime) -> datetime | None:
    """When the next waiting paced text comes due (the connector sleeps until then)."""
    due: datetime | None = session.scalar(_paced(select(func.min(Message.next_attempt_at)))
                                          .where(Message.next_attempt_at > now))
    return due


def push_next(session: Session, number_id: int, at: datetime) -> None:
    """Move the number's next slot to `at` unless it is already later."""
    session.execute(update(NumberPace).where(NumberPace.number_id == number_id)
                    .values(next_at=case((NumberPace.next_at < at, at),
                                         else_=NumberPace.next_at))
                    .execution_options(synchronize_session=False))


def get_pace(session: Session, number_id: int) -> NumberPace | None:
    return session.get(NumberPace, number_id)


def set_granted(session: Session, number_id: int, now: datetime, **granted: float | int | None
                ) -> NumberPace:
    """Record what the carrier granted a number (rate, daily cap, burst)."""
    row = session.get(NumberPace, number_id, with_for_update=True)
    if row is None:
        row = NumberPace(number_id=number_id, next_at=now, day=now.date(), day_segments=0)
        session.add(row)
    for key, value in granted.items():
        setattr(row, key, value)
    session.flush()
    return row
