"""The sync engine: one practice at a time under a lease; patients, then appointments, each
read since its cursor (the system's own clock), then the write-back outbox.

A first sync (no cursor) is the full import; later ones read only what changed. A cursor
moves only once every page of its table has been applied, so a sync cut short is simply
read again (the upserts are idempotent).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from queue import Empty, Queue
from typing import TypeVar

from sqlalchemy.orm import Session

from textdesk.domain.errors import AppError
from textdesk.domain.integrations import SYNC_LEASE
from textdesk.integrations import importing, store, writeback
from textdesk.integrations.base import Changes, ErrorKind, PracticeSystem, PracticeSystemError
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import SystemConnection

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH_ROWS = 1000  # rows applied per transaction
DELETION_CHECK = timedelta(hours=1)  # a whole-schedule read: not at every sync
Opener = Callable[[SystemConnection, str], PracticeSystem]  # (connection, timezone) → client


@dataclass
class SyncResult:
    ran: bool  # False: another connector holds the practice's lease
    counts: dict[str, int] = field(default_factory=dict)
    error: PracticeSystemError | None = None


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def sync_practice(db: Database, practice_id: int, system: str, open_system: Opener,
                  now: datetime, *, tables: bool = True) -> SyncResult:
    """One pass for one practice; `tables=False` only sends the write-back outbox."""
    owner = owner_id()
    with db.transaction() as session:
        if not store.take_lease(session, practice_id, system, owner, now, now + SYNC_LEASE):
            return SyncResult(ran=False)
        connection = store.get_connection(session, practice_id, system)
        practice = practice_store.get_practice(session, practice_id)
        assert connection is not None and practice is not None
        timezone = practice.timezone
        context = importing.Context({str(k): int(v) for k, v in
                                      (connection.clinic_map or {}).items()},
                                     connection.clinic_id or _first_clinic(session,
                                                                           practice_id))
    result = SyncResult(ran=True)
    client: PracticeSystem | None = None
    try:
        client = _open(open_system, connection, timezone)
        if tables:
            result.counts["patients"] = _table(
                db, practice_id, system, "patients", client.patients_since,
                lambda s, p, page: (importing.apply_patients(s, p, system, context, page,
                                                             now), False), now)
            result.counts["appointments"] = _table(
                db, practice_id, system, "appointments", client.appointments_since,
                lambda s, p, page: importing.apply_appointments(s, p, system, context, page,
                                                                now), now)
            result.counts["deleted"] = _deleted(db, practice_id, system, client, now)
        result.counts["written_back"] = writeback.send_due(db, practice_id, system, client, now)
    except PracticeSystemError as error:
        log.warning("practice %s: %s sync stopped: %s", practice_id, system, error.kind)
        result.error = error
    finally:
        if client is not None:
            client.close()
        _finish(db, practice_id, system, owner, result, tables, now)
    return result


def _first_clinic(session: Session, practice_id: int) -> int | None:
    clinic = practice_store.first_clinic(session, practice_id)
    return clinic.id if clinic is not None else None


def _open(open_system: Opener, connection: SystemConnection, timezone: str) -> PracticeSystem:
    try:
        return open_system(connection, timezone)
    except AppError as error:  # keys sealed under another TEXTDESK_SECRET_KEY
        raise PracticeSystemError(ErrorKind.BAD_KEY, error.message) from error


def _table(db: Database, practice_id: int, system: str, table: str,
           read: Callable[[str | None], Changes], apply: Callable, now: datetime) -> int:
    with db.transaction() as session:
        cursor = store.get_cursor(session, practice_id, system, table)
    changes = read(cursor)
    seen, complete = 0, True
    for page in _batches(changes.pages, BATCH_ROWS):
        with db.transaction() as session:
            practice = practice_store.get_practice(session, practice_id)
            _changed, missing = apply(session, practice, page)
        seen += len(page)
        complete = complete and not missing
    if complete and changes.cursor:
        with db.transaction() as session:
            store.set_cursor(session, practice_id, system, table, changes.cursor, now)
    return seen


def _batches(pages: Iterator[list[T]], size: int) -> Iterator[list[T]]:
    """The system's pages gathered into batches of about `size` rows (one transaction each),
    read ahead on a thread so the next pages come while a batch is written."""
    batch: list[T] = []
    for page in _read_ahead(pages):
        batch += page
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _read_ahead(pages: Iterator[list[T]], depth: int = 4) -> Iterator[list[T]]:
    """Iterate `pages` on a thread, `depth` pages ahead; its errors are raised here."""
    queue: Queue[tuple[list[T] | None, BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for page in pages:
                if stop.is_set():
                    return
                queue.put((page, None))
            queue.put((None, None))
        except BaseException as error:  # handed to the consumer, raised there
            queue.put((None, error))

    reader = threading.Thread(target=read, name="practice-system-read", daemon=True)
    reader.start()
    try:
        while True:
            page, error = queue.get()
            if error is not None:
                raise error
            if page is None:
                return
            yield page
    finally:
        stop.set()
        while reader.is_alive():  # let a blocked put go, so the thread ends
            with contextlib.suppress(Empty):
                queue.get(timeout=0.05)
        reader.join()


def _deleted(db: Database, practice_id: int, system: str, client: PracticeSystem,
             now: datetime) -> int:
    """At most every DELETION_CHECK, compare the schedule from today on with ours."""
    with db.transaction() as session:
        checked = store.get_cursor(session, practice_id, system, "deletions")
    if checked and now - datetime.fromisoformat(checked) < DELETION_CHECK:
        return 0
    on_schedule = client.appointment_ids_from(now)
    with db.transaction() as session:
        practice = practice_store.get_practice(session, practice_id)
        assert practice is not None
        cancelled = importing.cancel_deleted(session, practice, system, on_schedule, now, now)
        store.set_cursor(session, practice_id, system, "deletions", now.isoformat(), now)
    return cancelled


def _finish(db: Database, practice_id: int, system: str, owner: str, result: SyncResult,
            tables: bool, now: datetime) -> None:
    with db.transaction() as session:
        connection = store.get_connection(session, practice_id, system)
        if connection is not None:
            connection.last_attempt_at = now
            if result.error is None:
                connection.last_error_kind = connection.last_error = None
                if tables:
                    connection.last_sync_at = now
                    connection.last_counts = result.counts
            else:
                connection.last_error_kind = result.error.kind.value
                connection.last_error = result.error.message
            connection.updated_at = now
        store.release_lease(session, practice_id, system, owner)
