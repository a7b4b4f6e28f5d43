"""How fast a sending number may send (G4): next-slot arithmetic per number, and a daily cap.

Carriers meter throughput in message segments per second per sending number: a 10DLC long
code about 1 segment/s, toll-free 3/s, a short code 100/s. Each number keeps one instant, its
next free slot: a text of n segments may start when the slot has come, and moves the slot
n / rate seconds past the later of the slot and now. Spacing texts by slots (rather than
counting per calendar second) is what keeps every sliding one-second window under the rate.

The connector moves the slot again once the carrier answered (the slot is then at least one
interval after that answer), so a slow request can never bring two arrivals closer than the
interval. `margin` trims the rate a little more, for clocks and several connectors.
A number may also take a burst: with `burst_segments` > 1 up to that many segments are
claimed in one pass (what a short code needs to reach 100/s with passes every few ms).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

# Kinds whose texts are paced: campaigns, the one bulk traffic. Staff texts, keyword answers
# and reminders (spread by appointment times, and each one due now) go at once: they never
# wait behind a campaign, and the claim that sends them stays as fast as it was.
PACED_KINDS = frozenset({"campaign"})


@dataclass(frozen=True)
class Pace:
    segments_per_second: float
    daily_cap: int | None = None  # segments per UTC day; None: no cap
    burst_segments: int = 1
    margin: float = 0.02  # fraction of the rate kept in reserve (clocks, several connectors)

    @property
    def interval(self) -> timedelta:
        """The time one segment occupies."""
        return timedelta(seconds=1 / (self.segments_per_second * (1 - self.margin)))


DEFAULT_PACES: dict[str, Pace] = {
    "local": Pace(1.0),
    "hosted_landline": Pace(1.0),
    "toll_free": Pace(3.0),
    "short_code": Pace(100.0, burst_segments=10),
}


# MMS is metered apart from SMS: one MMS is one message part (never split), and carriers take
# fewer MMS than SMS parts a second (Twilio: 1 MMS/s per long code, 25/s per account; a short
# code about 40 MMS/s against 100 SMS parts/s). A number keeps one slot for both, so an MMS
# occupies the slot for as many SMS parts as its lower rate is worth.
MMS_PER_SECOND: dict[str, float] = {"local": 1.0, "hosted_landline": 1.0, "toll_free": 3.0,
                                    "short_code": 40.0}


def pace_units(kind: str, segments: int, has_media: bool) -> int:
    """How many of the number's slot units one text occupies: its segments as SMS, or an MMS
    at the number's MMS rate (a short code's MMS takes 3 of its 100-a-second units)."""
    if not has_media:
        return max(segments, 1)
    sms_rate = DEFAULT_PACES.get(kind, DEFAULT_PACES["local"]).segments_per_second
    mms_rate = MMS_PER_SECOND.get(kind, MMS_PER_SECOND["local"])
    return max(1, -(-int(sms_rate * 1000) // int(mms_rate * 1000)))


def pace_for(kind: str, *, segments_per_second: float | None = None,
             daily_cap: int | None = None, burst_segments: int | None = None) -> Pace:
    """The pace of a number of this kind, with what the carrier granted this number instead
    (a 10DLC campaign's throughput tier, a daily cap)."""
    base = DEFAULT_PACES.get(kind, DEFAULT_PACES["local"])
    return Pace(segments_per_second or base.segments_per_second,
                daily_cap if daily_cap is not None else base.daily_cap,
                burst_segments or base.burst_segments, base.margin)


@dataclass(frozen=True)
class Slot:
    """A number's pacing state: its next free instant and what it sent on `day`."""

    next_at: datetime
    day: date
    day_segments: int = 0


@dataclass(frozen=True)
class Admission:
    taken: list[int]  # indexes of the candidates that may go now, in order
    state: Slot  # the state after them
    wait_until: datetime | None  # when the first one left behind may go
    capped: bool  # the ones left behind wait for the daily cap, not for a slot


def admit(state: Slot, now: datetime, segments: Iterable[int], pace: Pace) -> Admission:
    """Which of the candidates (their segment counts, in queue order) may start now.

    A text may start when the number's next slot is no later than now plus the burst
    tolerance; it then occupies its segments' time from the later of the slot and now.
    """
    today = now.date()
    slot = state if state.day == today else Slot(state.next_at, today, 0)
    tolerance = pace.interval * (max(pace.burst_segments, 1) - 1)
    taken: list[int] = []
    for index, count in enumerate(segments):
        count = max(count, 1)
        if pace.daily_cap is not None and slot.day_segments + count > pace.daily_cap:
            tomorrow = datetime.combine(today + timedelta(days=1), time(0), tzinfo=now.tzinfo)
            return Admission(taken, slot, tomorrow, True)
        if slot.next_at > now + tolerance:
            return Admission(taken, slot, slot.next_at - tolerance, False)
        start = max(slot.next_at, now)
        slot = Slot(start + pace.interval * count, today, slot.day_segments + count)
        taken.append(index)
    return Admission(taken, slot, None, False)
