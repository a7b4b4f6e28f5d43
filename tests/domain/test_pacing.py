from datetime import UTC, datetime, timedelta

import pytest

from textdesk.domain.pacing import DEFAULT_PACES, Pace, Slot, admit, pace_for

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
STRICT = Pace(1.0, margin=0.0)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(("kind", "rate", "burst"), [
    ("local", 1.0, 1), ("toll_free", 3.0, 1), ("short_code", 100.0, 10),
    ("hosted_landline", 1.0, 1), ("something_new", 1.0, 1),
])
def test_default_paces(kind: str, rate: float, burst: int) -> None:
    pace = pace_for(kind)
    assert (pace.segments_per_second, pace.burst_segments) == (rate, burst)


def test_a_number_granted_more() -> None:
    pace = pace_for("local", segments_per_second=2, daily_cap=2000)
    assert (pace.segments_per_second, pace.daily_cap, pace.burst_segments) == (2.0, 2000, 1)
    assert pace_for("toll_free", daily_cap=None) == DEFAULT_PACES["toll_free"]


@pytest.mark.parametrize(("state", "now", "segments", "taken", "next_at", "wait_until"), [
    # a free number takes one text and moves its slot one second on
    (Slot(at(0), T0.date()), at(0), [1, 1, 1], [0], at(1), at(1)),
    # the slot has not come
    (Slot(at(0.5), T0.date()), at(0), [1], [], at(0.5), at(0.5)),
    # a late claim counts from now, not from the old slot: no catching up in a burst
    (Slot(at(-30), T0.date()), at(0), [1, 1], [0], at(1), at(1)),
    # two segments occupy two seconds
    (Slot(at(0), T0.date()), at(0), [2, 1], [0], at(2), at(2)),
    # nothing waiting
    (Slot(at(0), T0.date()), at(0), [], [], at(0), None),
])
def test_admit_strict(state: Slot, now: datetime, segments: list[int], taken: list[int],
                      next_at: datetime, wait_until: datetime | None) -> None:
    result = admit(state, now, segments, STRICT)
    assert result.taken == taken
    assert result.state.next_at == next_at
    assert result.wait_until == wait_until
    assert not result.capped


def test_margin_spaces_slots_a_little_wider() -> None:
    result = admit(Slot(T0, T0.date()), T0, [1], Pace(1.0, margin=0.04))
    assert timedelta(seconds=1.04) < result.state.next_at - T0 < timedelta(seconds=1.05)


def test_burst_takes_up_to_the_burst_then_waits() -> None:
    pace = Pace(100.0, burst_segments=10, margin=0.0)
    result = admit(Slot(T0, T0.date()), T0, [1] * 25, pace)
    assert result.taken == list(range(10))
    assert result.state.next_at == T0 + timedelta(seconds=0.1)
    assert result.wait_until is not None and result.wait_until <= T0 + timedelta(seconds=0.01)


def test_daily_cap_waits_for_tomorrow_and_resets() -> None:
    pace = Pace(1.0, daily_cap=3, margin=0.0)
    result = admit(Slot(T0, T0.date(), 2), T0, [1, 1], pace)
    assert result.taken == [0] and result.capped
    assert result.wait_until == datetime(2026, 3, 3, tzinfo=UTC)
    tomorrow = admit(result.state, datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC), [1], pace)
    assert tomorrow.taken == [0] and tomorrow.state.day_segments == 1


@pytest.mark.parametrize("rate", [1.0, 3.0, 100.0])
def test_no_one_second_window_exceeds_the_rate(rate: float) -> None:
    """Claims at irregular instants never put more than the rate in any sliding second."""
    pace = Pace(rate, margin=0.0)
    state, sent, now = Slot(T0, T0.date()), [], T0
    step = timedelta(seconds=0.37 / rate)
    while len(sent) < 5 * rate + 5:
        result = admit(state, now, [1] * 3, pace)
        sent += [now] * len(result.taken)
        state, now = result.state, now + step
    for i, start in enumerate(sent):
        in_window = [t for t in sent[i:] if t < start + timedelta(seconds=1)]
        assert len(in_window) <= rate
    elapsed = (sent[-1] - sent[0]).total_seconds()
    assert (len(sent) - 1) / elapsed >= 0.7 * rate
