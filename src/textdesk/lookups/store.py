"""Every query of the lookups feature."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textdesk.storage.db import cast_table, insert_many, insert_once, is_postgres_session
from textdesk.storage.models import PhoneLookup, Practice

_CHUNK = 500  # phones per IN (...) list
# pending: queued (asked when the budget allows); asking: a campaign waits for the answer, and
# the budget was there when it was queued; done | failed: answered.
WAITING = ("asking", "pending")


def get(session: Session, practice_id: int, phone_e164: str) -> PhoneLookup | None:
    return session.scalars(select(PhoneLookup).where(
        PhoneLookup.practice_id == practice_id, PhoneLookup.phone_e164 == phone_e164)).first()


def done_by_phone(session: Session, practice_id: int, phones: set[str]) -> dict[str, str]:
    """The kept line type of each of these phones that has one."""
    if not phones:
        return {}
    rows = session.execute(select(PhoneLookup.phone_e164, PhoneLookup.line_type).where(
        PhoneLookup.practice_id == practice_id, PhoneLookup.phone_e164.in_(phones),
        PhoneLookup.status == "done"))
    return {phone: kind for phone, kind in rows if kind is not None}


def add_pending(session: Session, practice_id: int, phone_e164: str, now: datetime) -> bool:
    return insert_once(session, PhoneLookup(practice_id=practice_id, phone_e164=phone_e164,
                                            status="pending", requested_at=now))


def add_pending_many(session: Session, practice_id: int, phones: list[str],
                     now: datetime) -> None:
    insert_many(session, cast_table(PhoneLookup), [
        {"practice_id": practice_id, "phone_e164": phone, "status": "pending",
         "requested_at": now} for phone in phones], skip_duplicates=True)



def practices_with_pending(session: Session) -> list[Practice]:
    ids = select(PhoneLookup.practice_id).where(PhoneLookup.status.in_(WAITING)).distinct()
    return list(session.scalars(select(Practice).where(Practice.id.in_(ids))
                                .order_by(Practice.id)))


def pending(session: Session, practice_id: int, limit: int) -> list[PhoneLookup]:
    return list(session.scalars(select(PhoneLookup).where(
        PhoneLookup.practice_id == practice_id, PhoneLookup.status.in_(WAITING))
        # What a campaign waits for first ("asking" sorts before "pending"), then the newest.
        .order_by(PhoneLookup.status, PhoneLookup.requested_at.desc(), PhoneLookup.id.desc())
        .limit(limit)))


def done_since(session: Session, practice_id: int, since: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(PhoneLookup).where(
        PhoneLookup.practice_id == practice_id, PhoneLookup.looked_up_at >= since)) or 0)


def _chunks(phones: Sequence[str]) -> list[Sequence[str]]:
    return [phones[i:i + _CHUNK] for i in range(0, len(phones), _CHUNK)]


def unanswered(session: Session, practice_id: int, phones: Sequence[str]) -> list[str]:
    """The phones never asked, or asked but not answered yet, in the order given."""
    answered: set[str] = set()
    for chunk in _chunks(phones):
        answered.update(session.scalars(select(PhoneLookup.phone_e164).where(
            PhoneLookup.practice_id == practice_id, PhoneLookup.phone_e164.in_(chunk),
            PhoneLookup.status.notin_(WAITING))))
    return [p for p in phones if p not in answered]


def queue_now(session: Session, practice_id: int, phones: Sequence[str], now: datetime) -> None:
    """Queue these phones to be asked first, a campaign waiting (new ones inserted, waiting
    ones asked again from `now`)."""
    if not phones:
        return
    dialect_insert = postgresql.insert if is_postgres_session(session) else sqlite.insert
    for chunk in _chunks(phones):
        rows = [{"practice_id": practice_id, "phone_e164": p, "status": "asking",
                 "requested_at": now} for p in chunk]
        session.execute(dialect_insert(PhoneLookup).values(rows).on_conflict_do_nothing())
        session.execute(update(PhoneLookup).where(
            PhoneLookup.practice_id == practice_id, PhoneLookup.phone_e164.in_(chunk),
            PhoneLookup.status.in_(WAITING)).values(status="asking", requested_at=now)
            .execution_options(synchronize_session=False))


def pending_since(session: Session, practice_id: int, phones: Sequence[str],
                  since: datetime) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(phones):
        found.update(session.scalars(select(PhoneLookup.phone_e164).where(
            PhoneLookup.practice_id == practice_id, PhoneLookup.phone_e164.in_(chunk),
            PhoneLookup.status == "asking", PhoneLookup.requested_at >= since)))
    return found
