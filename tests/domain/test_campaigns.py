from datetime import UTC, datetime, timedelta

import pytest

from textdesk.domain.campaigns import (
    CampaignStatus,
    PlannedText,
    can_move,
    plan_texts,
)
from textdesk.domain.schedule import Window, is_allowed, practice_window

R, P, D, X = (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED,
              CampaignStatus.CANCELED)
NY = "America/New_York"
LA = "America/Los_Angeles"
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("current", "new", "allowed"), [
    (R, P, True), (P, R, True), (R, X, True), (P, X, True), (R, D, True),
    (P, D, False), (D, R, False), (X, R, False), (D, X, False), (X, P, False),
])
def test_transitions(current: CampaignStatus, new: CampaignStatus, allowed: bool) -> None:
    assert can_move(current, new) is allowed


def _plan(start: datetime, zones: list[tuple[str, ...]], window: Window = Window(),
          now: datetime | None = None) -> list[PlannedText]:
    return plan_texts(now or start, start, [(z, 1) for z in zones], SECOND, window)


def test_a_plan_inside_one_evening_is_one_second_apart() -> None:
    start = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 15:00 in New York
    plan = _plan(start, [(NY,)] * 100)
    assert [p.at for p in plan] == [start + SECOND * i for i in range(100)]
    assert plan[0].hold is None and {p.hold for p in plan[1:]} == {"rate_limited"}


def test_a_plan_skips_the_night_and_the_dst_change() -> None:
    start = datetime(2026, 3, 8, 0, 59, 30, tzinfo=UTC)  # Sat 7 Mar 19:59:30 EST
    plan = _plan(start, [(NY,)] * (3600 * 13 + 5000))
    # 19:59:30–21:00: 3,630 slots; then 08:00 EDT on Sunday (12:00 UTC), 13 hours a day
    assert plan[3629].at == start + SECOND * 3629
    assert plan[3630].at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    assert plan[3630 + 13 * 3600].at == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    for index in (0, 3629, 3630, 50_000, 3630 + 13 * 3600 + 10):
        assert is_allowed(plan[index].at, (NY,), Window())


def test_a_plan_that_starts_at_night_starts_at_the_opening() -> None:
    start = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # 22:00 EST
    plan = _plan(start, [(NY,)] * 5)
    assert plan[0] == PlannedText(datetime(2026, 3, 3, 13, 0, tzinfo=UTC), "quiet_hours")
    assert {p.hold for p in plan} == {"quiet_hours"}


def test_each_recipient_keeps_its_own_window_zone_by_zone() -> None:
    """Practice hours 13:00–16:00; at 14:38 in New York (11:38 in Los Angeles) the New York
    text goes now and the Los Angeles ones wait for 13:00 in Los Angeles (issue: the plan
    followed the clinic's typical recipient and held New York until its window closed)."""
    window = practice_window("13:00", "16:00")
    start = datetime(2026, 3, 4, 19, 38, tzinfo=UTC)
    plan = _plan(start, [(LA,), (NY,), (LA,)], window)
    assert plan[1] == PlannedText(start, None)
    assert plan[0] == PlannedText(datetime(2026, 3, 4, 21, 0, tzinfo=UTC), "quiet_hours")
    assert plan[2].at == datetime(2026, 3, 4, 21, 0, 1, tzinfo=UTC)


def test_the_zone_whose_window_closes_first_goes_first() -> None:
    start = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)  # 15:00 NY, 12:00 LA
    plan = _plan(start, [(LA,)] * 3 + [(NY,)] * 3)
    assert [p.at for p in plan[3:]] == [start, start + SECOND, start + 2 * SECOND]
    assert plan[0].at == start + 3 * SECOND and plan[0].hold == "rate_limited"


def test_a_long_text_takes_a_slot_per_segment() -> None:
    start = datetime(2026, 3, 4, 20, 0, tzinfo=UTC)
    plan = plan_texts(start, start, [((NY,), 3), ((NY,), 1)], SECOND, Window())
    assert plan[1].at == start + 3 * SECOND


def test_a_scheduled_campaign_waits_for_its_start() -> None:
    now = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    plan = _plan(now + timedelta(hours=2), [(NY,)] * 2, now=now)
    assert {p.hold for p in plan} == {"campaign_scheduled"}
