"""Every query of the integrations feature: connections, leases, cursors, mappings, outbox."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, or_, select, text, update
from sqlalchemy.orm import Session

from textdesk.domain.integrations import WriteBackStatus
from textdesk.storage.db import cast_table, insert_once, insert_rows, is_postgres_session
from textdesk.storage.models import (
    Appointment,
    ExternalRecord,
    Patient,
    SyncCursor,
    SystemConnection,
    WriteBackItem,
)


def get_connection(session: Session, practice_id: int, system: str) -> SystemConnection | None:
    return session.scalar(select(SystemConnection).where(
        SystemConnection.practice_id == practice_id, SystemConnection.system == system))


def connections_of(session: Session, practice_id: int) -> list[SystemConnection]:
    return list(session.scalars(select(SystemConnection).where(
        SystemConnection.practice_id == practice_id).order_by(SystemConnection.id)))


def enabled_system(session: Session, practice_id: int) -> str | None:
    """The system a practice writes back to, if it has one (called on every text)."""
    return enabled_systems(session, [practice_id]).get(practice_id)


def enabled_systems(session: Session, practice_ids: Iterable[int]) -> dict[int, str]:
    """The system each practice writes back to (its first enabled connection; a practice with
    none is absent), in one query. It reads only connections, so what the session holds
    unflushed (a batch of texts and their commlogs) stays unflushed: one flush at commit
    instead of one per text."""
    ids = sorted(set(practice_ids))
    if not ids:
        return {}
    with session.no_autoflush:
        rows = session.execute(select(SystemConnection.practice_id, SystemConnection.system)
                               .where(SystemConnection.practice_id.in_(ids),
                                      SystemConnection.is_enabled.is_(True))
                               .order_by(SystemConnection.practice_id, SystemConnection.id))
        found: dict[int, str] = {}
        for practice_id, system in rows:
            found.setdefault(practice_id, system)
        return found


def due_connections(session: Session, now: datetime) -> list[tuple[int, str]]:
    rows = session.execute(select(SystemConnection.practice_id, SystemConnection.system).where(
        SystemConnection.is_enabled.is_(True), SystemConnection.sync_due_at <= now,
        or_(SystemConnection.lease_until.is_(None), SystemConnection.lease_until < now))
        .order_by(SystemConnection.sync_due_at))
    return [(r[0], r[1]) for r in rows]


def take_lease(session: Session, practice_id: int, system: str, owner: str, now: datetime,
               until: datetime) -> bool:
    """One statement: the lease is ours only if nobody holds a live one."""
    result = session.execute(update(SystemConnection).where(
        SystemConnection.practice_id == practice_id, SystemConnection.system == system,
        or_(SystemConnection.lease_until.is_(None), SystemConnection.lease_until < now))
        .values(lease_owner=owner, lease_until=until))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, practice_id: int, system: str, owner: str) -> None:
    session.execute(update(SystemConnection).where(
        SystemConnection.practice_id == practice_id, SystemConnection.system == system,
        SystemConnection.lease_owner == owner).values(lease_owner=None, lease_until=None))


def get_cursor(session: Session, practice_id: int, system: str, table: str) -> str | None:
    row = session.get(SyncCursor, (practice_id, system, table))
    return row.cursor if row else None


def set_cursor(session: Session, practice_id: int, system: str, table: str,
               cursor: str | None, now: datetime) -> None:
    row = session.get(SyncCursor, (practice_id, system, table))
    if row is None:
        session.add(SyncCursor(practice_id=practice_id, system=system, table_name=table,
                               cursor=cursor, updated_at=now))
    else:
        row.cursor, row.updated_at = cursor, now


def clear_cursors(session: Session, practice_id: int, system: str) -> None:
    for row in session.scalars(select(SyncCursor).where(
            SyncCursor.practice_id == practice_id, SyncCursor.system == system)):
        session.delete(row)


def records(session: Session, practice_id: int, system: str, kind: str,
            external_ids: Iterable[str]) -> dict[str, ExternalRecord]:
    ids = list(set(external_ids))
    found: dict[str, ExternalRecord] = {}
    for start in range(0, len(ids), 500):
        for row in session.scalars(select(ExternalRecord).where(
                ExternalRecord.practice_id == practice_id, ExternalRecord.system == system,
                ExternalRecord.kind == kind,
                ExternalRecord.external_id.in_(ids[start:start + 500]))):
            found[row.external_id] = row
    return found


ANALYZE_AFTER = 500  # rows added at once


class Seen(NamedTuple):
    """What a mapping row says: its id, textdesk's id, what was applied, the Text OK seen."""

    id: int
    local_id: int
    fingerprint: str
    text_ok: str | None


def seen(session: Session, practice_id: int, system: str, kind: str,
         external_ids: Iterable[str]) -> dict[str, Seen]:
    """`records` without loading rows as objects (a sync reads every id it is given)."""
    ids = sorted(set(external_ids))
    found: dict[str, Seen] = {}
    table = ExternalRecord
    for start in range(0, len(ids), 500):
        for row in session.execute(select(
                table.external_id, table.id, table.local_id, table.fingerprint, table.text_ok)
                .where(table.practice_id == practice_id, table.system == system,
                       table.kind == kind, table.external_id.in_(ids[start:start + 500]))):
            found[row[0]] = Seen(row[1], row[2], row[3], row[4])
    return found


def add_records(session: Session, rows: list[dict[str, Any]]) -> None:
    insert_rows(session, cast_table(ExternalRecord), rows)
    if len(rows) >= ANALYZE_AFTER and is_postgres_session(session) and (session.scalar(text(
            "SELECT reltuples FROM pg_class WHERE relname = 'external_records'")) or 0) < 1:
        # A first import grows the table from nothing, before autovacuum looks: never
        # analyzed, PostgreSQL scans it whole for each batch's ids. Once is enough (the
        # planner scales what it learned by the table's size as it grows).
        session.execute(text("ANALYZE external_records"))


def mark_applied(session: Session, rows: list[dict[str, Any]]) -> None:
    """Set `fingerprint`, `text_ok` and `updated_at` of mapping rows by id (`rid`)."""
    if rows:
        session.execute(update(cast_table(ExternalRecord))
                        .where(cast_table(ExternalRecord).c.id == bindparam("rid"))
                        .values(fingerprint=bindparam("fp"), text_ok=bindparam("tok"),
                                updated_at=bindparam("at")), rows)


def record_of_local(session: Session, practice_id: int, system: str, kind: str,
                    local_id: int) -> ExternalRecord | None:
    return session.scalar(select(ExternalRecord).where(
        ExternalRecord.practice_id == practice_id, ExternalRecord.system == system,
        ExternalRecord.kind == kind, ExternalRecord.local_id == local_id).limit(1))


def mapped_patients_with_phone(session: Session, practice_id: int, system: str,
                               e164: str) -> list[tuple[int, str]]:
    """(patient id, external id) of the system's patients who have this phone."""
    rows = session.execute(select(Patient.id, ExternalRecord.external_id)
                           .join(ExternalRecord, ExternalRecord.local_id == Patient.id)
                           .where(Patient.practice_id == practice_id,
                                  Patient.phone_e164 == e164,
                                  ExternalRecord.practice_id == practice_id,
                                  ExternalRecord.system == system,
                                  ExternalRecord.kind == "patient")
                           .order_by(Patient.id))
    return [(r[0], r[1]) for r in rows]


def add_item(session: Session, item: WriteBackItem) -> bool:
    return insert_once(session, item)


def due_items(session: Session, practice_id: int, system: str, now: datetime,
              limit: int) -> list[WriteBackItem]:
    """Pending items in the order they happened (a Text OK No after a Yes must land last)."""
    return list(session.scalars(select(WriteBackItem).where(
        WriteBackItem.practice_id == practice_id, WriteBackItem.system == system,
        WriteBackItem.status == WriteBackStatus.PENDING.value)
        .order_by(WriteBackItem.id).limit(limit)))


def get_item(session: Session, item_id: int) -> WriteBackItem | None:
    return session.get(WriteBackItem, item_id)


def waiting(session: Session, practice_id: int, system: str) -> tuple[int, datetime | None]:
    """How many items wait, and since when the oldest has."""
    row = session.execute(select(func.count(WriteBackItem.id),
                                 func.min(WriteBackItem.created_at)).where(
        WriteBackItem.practice_id == practice_id, WriteBackItem.system == system,
        WriteBackItem.status == WriteBackStatus.PENDING.value)).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:  # func.min bypasses the column type
        oldest = oldest.replace(tzinfo=UTC)
    return int(row[0]), oldest


def failed_count(session: Session, practice_id: int, system: str) -> int:
    return int(session.scalar(select(func.count(WriteBackItem.id)).where(
        WriteBackItem.practice_id == practice_id, WriteBackItem.system == system,
        WriteBackItem.status == WriteBackStatus.FAILED.value)) or 0)


def enabled_connections(session: Session) -> list[tuple[int, str]]:
    rows = session.execute(select(SystemConnection.practice_id, SystemConnection.system)
                           .where(SystemConnection.is_enabled.is_(True))
                           .order_by(SystemConnection.practice_id))
    return [(r[0], r[1]) for r in rows]


def upcoming_mapped(session: Session, practice_id: int, system: str, since: datetime,
                    statuses: Iterable[str]) -> list[tuple[str, int]]:
    """(external id, appointment id) of the system's appointments still to come here."""
    rows = session.execute(select(ExternalRecord.external_id, Appointment.id)
                           .join(Appointment, Appointment.id == ExternalRecord.local_id)
                           .where(ExternalRecord.practice_id == practice_id,
                                  ExternalRecord.system == system,
                                  ExternalRecord.kind == "appointment",
                                  Appointment.practice_id == practice_id,
                                  Appointment.start_at >= since,
                                  Appointment.status.in_(list(statuses))))
    return [(r[0], r[1]) for r in rows]


def has_due_items(session: Session, practice_id: int, system: str, now: datetime) -> bool:
    """Whether the oldest pending item may be tried now (items go in order)."""
    first = session.scalar(select(WriteBackItem.next_attempt_at).where(
        WriteBackItem.practice_id == practice_id, WriteBackItem.system == system,
        WriteBackItem.status == WriteBackStatus.PENDING.value)
        .order_by(WriteBackItem.id).limit(1))
    return first is not None and first <= now
