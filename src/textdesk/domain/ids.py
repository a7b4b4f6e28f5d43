"""What an id is: a positive integer that fits the id columns on both databases.

Ids are 64-bit on both databases (BIGINT on PostgreSQL, INTEGER on SQLite; decision 0145): an
id past 2^63-1 names no row and is refused before a query could overflow."""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1
# An id as text: digits only, no sign, space or leading zero, no more digits than MAX_ID has.
ID_DIGITS = re.compile(rf"[1-9][0-9]{{0,{len(str(MAX_ID)) - 1}}}")


def is_id(value: object) -> bool:
    """A whole number 1 … MAX_ID (not `True`, not a float, not a larger number)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def id_written(text: str) -> int | None:
    """The id `text` writes (see ID_DIGITS) if it can name a row, else None."""
    if not ID_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_ID else None
