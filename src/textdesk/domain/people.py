"""People as staff look them up: a date of birth typed the ways a front desk writes it."""

from __future__ import annotations

import re
from datetime import date

EARLIEST_BIRTH_YEAR = 1900

_US = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")  # 3/7/1984, 03-07-1984
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")  # 1984-03-07


def date_of_birth(text: str, today: date) -> date | None:
    """The date of birth `text` writes (US month-first or ISO), or None when it is none."""
    text = text.strip()
    if match := _ISO.fullmatch(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _US.fullmatch(text):
        month, day, year = (int(g) for g in match.groups())
    else:
        return None
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return born if is_plausible_birthdate(born, today) else None


def is_plausible_birthdate(born: date, today: date) -> bool:
    return born.year >= EARLIEST_BIRTH_YEAR and born <= today
