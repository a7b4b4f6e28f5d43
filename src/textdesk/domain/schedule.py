"""When an automated text may leave: the send window in the recipient's local time (G1), and
when each appointment reminder is due (G2).

Automated texts never leave outside 08:00–21:00 in the recipient's local time, taken from the
number's area code. A practice may narrow that window (its `quiet_hours` {start, end} are the
hours texts may go), never widen it. The window is read in the recipient's own time zone; the
practice's time zone stands in when the area code gives none. A number whose area code spans
two zones must be inside the window in both. All arithmetic is on aware datetimes with
zoneinfo, so a daylight-saving change moves the opening with the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

LEGAL_START = time(8, 0)
LEGAL_END = time(21, 0)
_MAX_JUMPS = 32  # a window that is open at all converges in two or three


class EmptyWindow(ValueError):
    """The practice's hours leave no time inside 08:00–21:00."""


@dataclass(frozen=True)
class Window:
    """Local hours [start, end) in which automated texts may leave, and days they may not."""

    start: time = LEGAL_START
    end: time = LEGAL_END
    excluded_weekdays: frozenset[int] = field(default_factory=frozenset)  # 0 = Monday

    def opening(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The window's [open, close) on a local day as UTC instants; None on an excluded day."""
        if day.weekday() in self.excluded_weekdays:
            return None
        return _instant(day, self.start, zone), _instant(day, self.end, zone)


def parse_hhmm(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    return time(hours, minutes)


def practice_window(start: str, end: str, excluded_weekdays: Iterable[int] = ()) -> Window:
    """The practice's hours clipped to 08:00–21:00 (a practice may only be stricter)."""
    opens = max(parse_hhmm(start), LEGAL_START)
    closes = min(parse_hhmm(end), LEGAL_END)
    if opens >= closes:
        raise EmptyWindow(f"{start}–{end} leaves no time inside 08:00–21:00.")
    excluded = frozenset(excluded_weekdays)
    if len(excluded) >= 7:
        raise EmptyWindow("Every day of the week is excluded.")
    return Window(opens, closes, excluded)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def is_allowed(at: datetime, zones: Iterable[str], window: Window) -> bool:
    return all(_next_open_in(at, zone(z), window) == at for z in zones)


def next_allowed(at: datetime, zones: Iterable[str], window: Window) -> datetime:
    """The first instant at or after `at` that is inside the window in every zone.

    Zones that never share an open instant (hours apart and a narrow window) fall back to the
    first zone alone, so that a text is late rather than never sent.
    """
    names = tuple(zones)
    if not names:
        raise ValueError("at least one time zone is needed")
    candidate = at
    for _ in range(_MAX_JUMPS):
        later = max(_next_open_in(candidate, zone(z), window) for z in names)
        if later == candidate:
            return candidate
        candidate = later
    return _next_open_in(at, zone(names[0]), window)


def window_close(at: datetime, zone_name: str, window: Window) -> datetime:
    """When the window that `at` is inside closes (`at` itself when it is shut)."""
    tz = zone(zone_name)
    hours = window.opening(at.astimezone(tz).date(), tz)
    if hours is None or not hours[0] <= at < hours[1]:
        return at
    return hours[1]


def _next_open_in(at: datetime, tz: ZoneInfo, window: Window) -> datetime:
    local_day = at.astimezone(tz).date()
    for offset in range(-1, 9):
        hours = window.opening(local_day + timedelta(days=offset), tz)
        if hours is None:
            continue
        opens, closes = hours
        if at < opens:
            return opens
        if at < closes:
            return at
    raise EmptyWindow("The window never opens.")


# More zones than this means the number is not geographic (toll-free, 500 …): no local time.
_MAX_LOCAL_ZONES = 3


def recipient_zones(number_zones: Iterable[str], practice_zone: str) -> tuple[str, ...]:
    """The zones whose window a text must respect: the number's, else the practice's."""
    known = tuple(z for z in number_zones if _is_zone(z))
    if not known or len(known) > _MAX_LOCAL_ZONES:
        return (practice_zone,)
    return known


@lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return False
    return True


# --- reminders -------------------------------------------------------------------------------

class RuleKind(StrEnum):
    LEAD = "lead"  # a lead time before the appointment: 7 days, 2 days, 2 hours
    SAME_DAY = "same_day"  # a time of day on the appointment's own day, e.g. 07:30


@dataclass(frozen=True)
class ReminderRule:
    id: int
    kind: RuleKind
    lead: timedelta = timedelta(0)  # LEAD
    at: time | None = None  # SAME_DAY, local to the practice


class Plan(StrEnum):
    NOT_YET = "not_yet"  # its time has not come
    SEND = "send"  # write the reminder now (it may still wait for the window)
    SUPERSEDED = "reminder_superseded"  # a closer reminder is due too: only that one goes
    TOO_LATE = "appointment_too_soon"  # the window opens only after the appointment


def due_at(rule: ReminderRule, appointment_start: datetime, practice_zone: str) -> datetime:
    if rule.kind is RuleKind.SAME_DAY:
        assert rule.at is not None
        tz = zone(practice_zone)
        return _instant(appointment_start.astimezone(tz).date(), rule.at, tz)
    return appointment_start - rule.lead


def plan_reminders(rules: Iterable[ReminderRule], appointment_start: datetime, now: datetime,
                   practice_zone: str, first_open: datetime) -> dict[int, Plan]:
    """What to do now with each rule of one appointment.

    `first_open` is next_allowed(now) for the recipient. Of the rules already due, only the
    one closest to the appointment is sent: a patient who books two days ahead gets the
    two-day reminder, not the seven-day one as well. A reminder that could only arrive after
    the appointment starts is skipped.
    """
    due = {rule.id: due_at(rule, appointment_start, practice_zone) for rule in rules}
    ready = {rid: at for rid, at in due.items() if at <= now and at < appointment_start}
    plans = {rid: Plan.NOT_YET for rid in due}
    for rid, at in due.items():
        if at >= appointment_start:
            plans[rid] = Plan.TOO_LATE  # a same-day time after the appointment
    if not ready:
        return plans
    latest = max(ready, key=lambda rid: (ready[rid], rid))
    for rid in ready:
        plans[rid] = Plan.SUPERSEDED
    plans[latest] = Plan.SEND if first_open < appointment_start else Plan.TOO_LATE
    return plans
