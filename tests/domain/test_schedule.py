from datetime import UTC, datetime, time, timedelta

import pytest

from textdesk.domain.phone import time_zones
from textdesk.domain.schedule import (
    EmptyWindow,
    Plan,
    ReminderRule,
    RuleKind,
    Window,
    due_at,
    is_allowed,
    next_allowed,
    plan_reminders,
    practice_window,
    recipient_zones,
)

NY, LA, CHI, DEN = "America/New_York", "America/Los_Angeles", "America/Chicago", "America/Denver"
LEGAL = Window()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("at", "zones", "window", "expected"), [
    # inside the window: now
    (utc(2026, 3, 2, 17, 0), (NY,), LEGAL, utc(2026, 3, 2, 17, 0)),
    # 22:30 in New York waits until 08:00 the next morning (EST, UTC-5)
    (utc(2026, 3, 3, 3, 30), (NY,), LEGAL, utc(2026, 3, 3, 13, 0)),
    # 07:59 waits a minute; 08:00 goes; 21:00 is already closed
    (utc(2026, 3, 2, 12, 59), (NY,), LEGAL, utc(2026, 3, 2, 13, 0)),
    (utc(2026, 3, 2, 13, 0), (NY,), LEGAL, utc(2026, 3, 2, 13, 0)),
    (utc(2026, 3, 3, 2, 0), (NY,), LEGAL, utc(2026, 3, 3, 13, 0)),
    # DST starts Sun 8 Mar 2026: 22:30 EST Saturday → 08:00 EDT Sunday (UTC-4)
    (utc(2026, 3, 8, 3, 30), (NY,), LEGAL, utc(2026, 3, 8, 12, 0)),
    # DST ends Sun 1 Nov 2026: 22:30 EDT Saturday → 08:00 EST Sunday (UTC-5)
    (utc(2026, 11, 1, 2, 30), (NY,), LEGAL, utc(2026, 11, 1, 13, 0)),
    # the recipient's time, not the sender's: 09:00 in New York is 06:00 in Los Angeles
    (utc(2026, 3, 2, 14, 0), (LA,), LEGAL, utc(2026, 3, 2, 16, 0)),
    # an area code in two zones: inside the window in both (08:00 Denver = 09:00 Chicago)
    (utc(2026, 3, 2, 14, 30), (CHI, DEN), LEGAL, utc(2026, 3, 2, 15, 0)),
    # 20:30 Chicago is 21:30 in New York: a Chicago/New York number waits for 08:00 New York
    (utc(2026, 3, 3, 2, 30), (CHI, NY), LEGAL, utc(2026, 3, 3, 14, 0)),
    # a stricter practice: 09:00–17:00
    (utc(2026, 3, 2, 22, 30), (NY,), practice_window("09:00", "17:00"),
     utc(2026, 3, 3, 14, 0)),
    # excluded Sunday: Saturday 22:00 waits for Monday 08:00
    (utc(2026, 3, 15, 3, 0), (NY,), practice_window("08:00", "21:00", [6]),
     utc(2026, 3, 16, 12, 0)),
])
def test_next_allowed(at: datetime, zones: tuple[str, ...], window: Window,
                      expected: datetime) -> None:
    found = next_allowed(at, zones, window)
    assert found == expected
    assert is_allowed(found, zones, window)
    assert is_allowed(at, zones, window) == (found == at)


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("08:00", "21:00", (time(8), time(21))),
    ("07:00", "22:00", (time(8), time(21))),  # a practice cannot widen the legal window
    ("09:30", "17:00", (time(9, 30), time(17))),
])
def test_practice_window_is_clipped(start: str, end: str, expected: tuple[time, time]) -> None:
    window = practice_window(start, end)
    assert (window.start, window.end) == expected


@pytest.mark.parametrize(("start", "end", "excluded"), [
    ("22:00", "23:00", ()), ("06:00", "07:30", ()), ("12:00", "12:00", ()),
    ("08:00", "21:00", range(7)),
])
def test_an_empty_window_is_refused(start: str, end: str, excluded: range) -> None:
    with pytest.raises(EmptyWindow):
        practice_window(start, end, excluded)


@pytest.mark.parametrize(("phone", "expected"), [
    ("+14155550123", (LA,)),
    ("+12125550123", (NY,)),
    ("+12085550123", ("America/Boise", LA)),
    ("+18005550123", (NY,)),  # toll-free: no local time, the practice's zone stands in
    ("+15005550006", (NY,)),
    ("not a phone", (NY,)),
])
def test_recipient_zones_from_the_area_code(phone: str, expected: tuple[str, ...]) -> None:
    assert recipient_zones(time_zones(phone), NY) == expected


APPT = utc(2026, 3, 10, 14, 0)  # Tue 10 Mar 10:00 in New York
SEVEN = ReminderRule(1, RuleKind.LEAD, lead=timedelta(days=7))
TWO = ReminderRule(2, RuleKind.LEAD, lead=timedelta(days=2))
HOURS = ReminderRule(3, RuleKind.LEAD, lead=timedelta(hours=2))
MORNING = ReminderRule(4, RuleKind.SAME_DAY, at=time(7, 30))
LATE = ReminderRule(5, RuleKind.SAME_DAY, at=time(11, 0))


@pytest.mark.parametrize(("rule", "expected"), [
    (SEVEN, utc(2026, 3, 3, 14, 0)),
    (TWO, utc(2026, 3, 8, 14, 0)),
    (HOURS, utc(2026, 3, 10, 12, 0)),
    (MORNING, utc(2026, 3, 10, 11, 30)),  # 07:30 EDT (after the DST change)
])
def test_due_at(rule: ReminderRule, expected: datetime) -> None:
    assert due_at(rule, APPT, NY) == expected


S, N, X, L = Plan.SEND, Plan.NOT_YET, Plan.SUPERSEDED, Plan.TOO_LATE


@pytest.mark.parametrize(("now", "first_open", "expected"), [
    (utc(2026, 3, 1, 0, 0), None, {1: N, 2: N, 3: N, 4: N, 5: L}),
    (utc(2026, 3, 3, 14, 0), None, {1: S, 2: N, 3: N, 4: N, 5: L}),
    # booked two days ahead: the two-day reminder goes, the seven-day one is superseded
    (utc(2026, 3, 8, 15, 0), None, {1: X, 2: S, 3: N, 4: N, 5: L}),
    (utc(2026, 3, 10, 12, 0), None, {1: X, 2: X, 3: S, 4: X, 5: L}),
    # the window opens only after the appointment
    (utc(2026, 3, 10, 13, 0), utc(2026, 3, 10, 14, 0), {1: X, 2: X, 3: L, 4: X, 5: L}),
])
def test_plan_reminders(now: datetime, first_open: datetime | None,
                        expected: dict[int, Plan]) -> None:
    rules = [SEVEN, TWO, HOURS, MORNING, LATE]
    assert plan_reminders(rules, APPT, now, NY, first_open or now) == expected


@pytest.mark.parametrize(("at", "expected"), [
    (utc(2026, 3, 2, 17, 0), utc(2026, 3, 3, 2, 0)),  # 12:00 EST → closes 21:00 EST
    (utc(2026, 3, 3, 3, 0), utc(2026, 3, 3, 3, 0)),  # shut: itself
])
def test_window_close(at: datetime, expected: datetime) -> None:
    from textdesk.domain.schedule import window_close

    assert window_close(at, NY, LEGAL) == expected
