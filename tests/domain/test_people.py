"""A date of birth as a front desk types it."""

from __future__ import annotations

from datetime import date

import pytest

from textdesk.domain.people import date_of_birth

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(("typed", "born"), [
    ("3/7/1984", date(1984, 3, 7)), ("03/07/1984", date(1984, 3, 7)),
    ("03-07-1984", date(1984, 3, 7)), ("3.7.1984", date(1984, 3, 7)),
    ("1984-03-07", date(1984, 3, 7)), (" 12/31/1999 ", date(1999, 12, 31)),
    ("12/2/2026", TODAY),
])
def test_dates_of_birth_as_typed(typed: str, born: date) -> None:
    assert date_of_birth(typed, TODAY) == born


@pytest.mark.parametrize("typed", [
    "Ava", "415-555-0123", "2/30/1984", "13/1/1984", "1/1/1899", "12/3/2026", "3/7/84",
    "1984", "",
])
def test_other_text_is_no_date_of_birth(typed: str) -> None:
    assert date_of_birth(typed, TODAY) is None
