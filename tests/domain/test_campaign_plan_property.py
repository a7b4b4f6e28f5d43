"""Property: over random mixes of recipient zones (every US zone with Alaska, Hawaii and Puerto
Rico, and Canada's), practice hours, start times and DST changes, no campaign text is planned
outside its own recipient's window, and a text whose window is open is held only by its
number's pace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from textdesk.domain.campaigns import plan_texts
from textdesk.domain.phone import time_zones
from textdesk.domain.schedule import (
    EmptyWindow,
    Window,
    is_allowed,
    next_allowed,
    practice_window,
    recipient_zones,
)

# Real area codes: New York, Chicago, Denver, Phoenix, Los Angeles, Anchorage, Honolulu,
# San Juan, Halifax, St. John's, Toronto, Winnipeg, Calgary, Vancouver, Regina.
AREA_CODES = ["212", "312", "303", "602", "213", "907", "808", "787", "902", "709", "416",
              "204", "403", "604", "306"]
DST_DAYS = [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC),
            datetime(2026, 6, 15, tzinfo=UTC), datetime(2026, 1, 10, tzinfo=UTC)]
SECOND = timedelta(seconds=1)


def _allowed(at: datetime, zones: tuple[str, ...], window: Window) -> bool:
    """Inside the window in every zone (or, for zones that never share an open hour, in the
    first: next_allowed's rule, which the claim applies too)."""
    return next_allowed(at, zones, window) == at and (
        is_allowed(at, zones, window) or is_allowed(at, zones[:1], window))


def _zones(area: str) -> tuple[str, ...]:
    return recipient_zones(time_zones(f"+1{area}5550123"), "America/New_York")


@settings(max_examples=150, deadline=None)
@given(areas=st.lists(st.sampled_from(AREA_CODES), min_size=1, max_size=40),
       opens=st.integers(6, 20), hours=st.integers(1, 15),
       day=st.sampled_from(DST_DAYS), minutes=st.integers(0, 48 * 60),
       interval=st.sampled_from([SECOND, SECOND / 3, timedelta(minutes=7)]))
def test_no_text_is_planned_outside_its_window_or_held_while_free(
        areas: list[str], opens: int, hours: int, day: datetime, minutes: int,
        interval: timedelta) -> None:
    try:
        window = practice_window(f"{opens:02d}:00", f"{min(opens + hours, 23):02d}:00")
    except EmptyWindow:
        return
    now = day + timedelta(minutes=minutes)
    texts = [(_zones(a), 1) for a in areas]
    plan = plan_texts(now, now, texts, interval, window)
    assert len(plan) == len(texts)
    for (zones, _), planned in zip(texts, plan, strict=True):
        assert _allowed(planned.at, zones, window), (zones, planned)  # what the claim checks
        open_now = _allowed(now, zones, window)
        assert planned.hold == (None if planned.at == now else
                                "rate_limited" if open_now else "quiet_hours")
    slots = sorted(p.at for p in plan)
    assert all(b - a >= interval for a, b in zip(slots, slots[1:], strict=False))
    if any(_allowed(now, z, window) for z, _ in texts):
        assert plan and min(slots) == now  # a free number with an open window sends now
