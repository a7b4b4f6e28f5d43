"""Sign-in rules: how long a sign-in waits after repeated failures, and what an e-mail is."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

FREE_FAILURES = 5  # mistyped passwords a person makes before anything slows down
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=1)  # failures older than this no longer count


def delay_after(failures: int, free: int = FREE_FAILURES, cap: timedelta = MAX_DELAY
                ) -> timedelta:
    """The wait imposed after `failures` consecutive failures: none, then 1 s, 2 s, 4 s … cap.

    Doubling keeps a person who mistypes a few times unaffected while a guesser soon gets one
    try every quarter of an hour.
    """
    if failures <= free:
        return timedelta(0)
    seconds = 2 ** min(failures - free - 1, 20)
    return min(timedelta(seconds=seconds), cap)


def counted_failures(failures: int, last_failure_at: datetime | None, now: datetime) -> int:
    """Failures that still count: a quiet hour wipes the slate."""
    if last_failure_at is None or now - last_failure_at > FORGET_AFTER:
        return 0
    return failures


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def is_plausible_email(value: str) -> bool:
    local, at, domain = normalize_email(value).partition("@")
    return bool(at and local and "." in domain and " " not in value.strip()
                and len(value) <= 254)


def hash_token(token: str) -> str:
    """How an API token is kept: its SHA-256, so a database dump does not reveal it."""
    return hashlib.sha256(token.encode()).hexdigest()
