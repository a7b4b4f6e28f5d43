from datetime import UTC, datetime, timedelta

import pytest

from textdesk.domain.campaigns import (
    CampaignStatus,
    Stretch,
    can_move,
    plan_stretches,
    slot_of,
)
from textdesk.domain.schedule import Window, is_allowed

R, P, D, X = (CampaignStatus.RUNNING, CampaignStatus.PAUSED, CampaignStatus.COMPLETED,
              CampaignStatus.CANCELED)
NY = "America/New_York"
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(("current", "new", "allowed"), [
    (R, P, True), (P, R, True), (R, X, True), (P, X, True), (R, D, True),
    (P, D, False), (D, R, False), (X, R, False), (D, X, False), (X, P, False),
])
def test_transitions(current: CampaignStatus, new: CampaignStatus, allowed: bool) -> None:
    assert can_move(current, new) is allowed


def test_a_plan_inside_one_evening_is_one_stretch() -> None:
    start = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)  # 15:00 in New York
    assert plan_stretches(start, 100, SECOND, NY, Window()) == [Stretch(0, start)]


def test_a_plan_skips_the_night_and_the_dst_change() -> None:
    start = datetime(2026, 3, 8, 0, 59, 30, tzinfo=UTC)  # Sat 7 Mar 19:59:30 EST
    stretches = plan_stretches(start, 3600 * 13 + 5000, SECOND, NY, Window())
    # 19:59:30–21:00: 3,630 slots; then 08:00 EDT on Sunday (12:00 UTC), 13 hours a day
    assert stretches[0] == Stretch(0, start)
    assert stretches[1] == Stretch(3630, datetime(2026, 3, 8, 12, 0, tzinfo=UTC))
    assert stretches[2] == Stretch(3630 + 13 * 3600, datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    for index in (0, 3629, 3630, 50_000, 3630 + 13 * 3600 + 10):
        assert is_allowed(slot_of(index, stretches, SECOND), (NY,), Window())


def test_a_plan_that_starts_at_night_starts_at_the_opening() -> None:
    start = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # 22:00 EST
    assert plan_stretches(start, 5, SECOND, NY, Window())[0].opens == datetime(
        2026, 3, 3, 13, 0, tzinfo=UTC)
