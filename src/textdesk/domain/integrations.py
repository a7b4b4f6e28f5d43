"""Practice-system integration rules: the write-back lifecycle, its backoff, what is behind.

```
write-back:  pending ─► done      (the system took it; its id is kept)
                │
                └─────► failed    (the system refused it for good: a 4xx)
```
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class WriteBackStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent, or to be retried
    DONE = "done"  # the system has it (terminal)
    FAILED = "failed"  # the system refused it; retrying would not help (terminal)


class WriteBackKind(StrEnum):
    COMMLOG = "commlog"  # a text sent or received, on the patient's chart
    CONFIRMATION = "confirmation"  # the patient confirmed the appointment
    TEXT_OK = "text_ok"  # the patient opted out (No) or back in (Yes)


TRANSITIONS = {WriteBackStatus.PENDING: frozenset({WriteBackStatus.DONE, WriteBackStatus.FAILED}),
               WriteBackStatus.DONE: frozenset(), WriteBackStatus.FAILED: frozenset()}
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=30)
BEHIND_AFTER = timedelta(minutes=15)  # an item older than this means write-back is behind
SYNC_LEASE = timedelta(minutes=10)  # one connector syncs a practice for at most this long


def can_move(current: WriteBackStatus, new: WriteBackStatus) -> bool:
    return new in TRANSITIONS[current]


def retry_at(now: datetime, attempts: int) -> datetime:
    """Doubling from 30 s, capped at 30 min: an office offline overnight is asked twice an hour."""
    delay = BACKOFF_FIRST * (2 ** max(attempts - 1, 0))
    return now + min(delay, BACKOFF_MAX)


def is_behind(oldest_pending_at: datetime | None, now: datetime) -> bool:
    return oldest_pending_at is not None and now - oldest_pending_at > BEHIND_AFTER
