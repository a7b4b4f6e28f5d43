"""Sending the outbox: in order, with retries and backoff, exactly once.

Each try is committed (attempts + 1) before the request leaves. A commlog tried before may
already be in the practice system (it took the request, the answer was lost), so a retry looks
it up first and only writes when it is not there. Confirm and Text OK are updates that say the
same thing twice, so a retry simply sends them again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from textdesk.domain.integrations import WriteBackKind, WriteBackStatus, retry_at
from textdesk.integrations import store
from textdesk.integrations.base import (
    CommlogEntry,
    ErrorKind,
    PracticeSystem,
    PracticeSystemError,
    TextOk,
)
from textdesk.storage.db import Database

log = logging.getLogger(__name__)
BATCH = 500


def send_due(db: Database, practice_id: int, system: str, client: PracticeSystem,
             now: datetime) -> int:
    """Send what is due, oldest first; stops at the first transient failure (so that a later
    Text OK never overtakes an earlier one) and raises it for the connection's status."""
    with db.transaction() as session:
        ids = [item.id for item in store.due_items(session, practice_id, system, now, BATCH)]
    sent = 0
    for item_id in ids:
        with db.transaction() as session:
            item = store.get_item(session, item_id)
            if item is None or item.status != WriteBackStatus.PENDING.value:
                continue
            if item.next_attempt_at > now:
                break
            item.attempts += 1
            kind, payload, retry = WriteBackKind(item.kind), dict(item.payload), item.attempts > 1
            key = item.source_key
        try:
            external_id = _send(client, kind, payload, retry, key)
        except PracticeSystemError as error:
            _failed(db, item_id, error, now)
            if error.kind is ErrorKind.REJECTED:
                continue
            raise
        with db.transaction() as session:
            item = store.get_item(session, item_id)
            assert item is not None
            item.status, item.external_id = WriteBackStatus.DONE.value, external_id
            item.done_at, item.last_error = now, None
        sent += 1
    return sent


def _send(client: PracticeSystem, kind: WriteBackKind, payload: dict[str, Any],
          retry: bool, key: str) -> str:
    if kind is WriteBackKind.COMMLOG:
        entry = CommlogEntry(payload["patient_external_id"], payload["note"],
                             datetime.fromisoformat(payload["at"]), bool(payload["is_inbound"]),
                             key)
        if retry:
            found = client.find_commlog(entry)
            if found is not None:
                log.info("commlog already in the practice system (%s): not written again",
                         found)
                return found
        return client.write_commlog(entry)
    if kind is WriteBackKind.CONFIRMATION:
        return client.confirm_appointment(payload["appointment_external_id"])
    return client.set_text_ok(payload["patient_external_id"], TextOk(payload["text_ok"]))


def _failed(db: Database, item_id: int, error: PracticeSystemError, now: datetime) -> None:
    with db.transaction() as session:
        item = store.get_item(session, item_id)
        assert item is not None
        item.last_error = error.message
        if error.kind is ErrorKind.REJECTED:
            item.status = WriteBackStatus.FAILED.value
        else:
            item.next_attempt_at = retry_at(now, item.attempts)
