"""Campaigns: the status lifecycle and its transition table, and how a campaign's texts are
laid out over time before the connector's pacing takes over (G4).

```
  running ─► completed        (the last text left)
    │  ▲
    ▼  │
  paused
    │
    └──────► canceled         (from running or paused: what still waits is canceled)
```
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from textdesk.domain.schedule import Window, next_allowed, window_close


class CampaignStatus(StrEnum):
    RUNNING = "running"  # texts are queued; each leaves at its number's pace, in the window
    PAUSED = "paused"  # waiting texts hold `campaign_paused` until resumed
    COMPLETED = "completed"  # nothing is left to send (terminal)
    CANCELED = "canceled"  # staff stopped it; what waited was canceled (terminal)


_R, _P = CampaignStatus.RUNNING, CampaignStatus.PAUSED
_D, _X = CampaignStatus.COMPLETED, CampaignStatus.CANCELED

TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    _R: frozenset({_P, _D, _X}),
    _P: frozenset({_R, _X}),
    _D: frozenset(),
    _X: frozenset(),
}


def can_move(current: CampaignStatus, new: CampaignStatus) -> bool:
    return new in TRANSITIONS[current]


@dataclass(frozen=True)
class PlannedText:
    """Where one text of a number lands in the plan, and what holds it until then."""

    at: datetime
    hold: str | None  # None (due now), campaign_scheduled, quiet_hours or rate_limited


@dataclass
class _Zone:
    """The texts of one recipient zone set still to place, and its current window span."""

    zones: tuple[str, ...]
    queue: deque[int]
    opens: datetime
    closes: datetime


def open_span(at: datetime, zones: tuple[str, ...], window: Window) -> tuple[datetime, datetime]:
    """The next [open, close) at or after `at` in which the window is open in every zone."""
    opens = next_allowed(at, zones, window)
    closes = [c for c in (window_close(opens, z, window) for z in zones) if c > opens]
    if len(closes) < len(zones):  # zones that never share an hour: next_allowed's fallback
        return opens, window_close(opens, zones[0], window)
    return opens, min(closes)


def plan_texts(now: datetime, start: datetime, texts: Sequence[tuple[tuple[str, ...], int]],
               interval: timedelta, window: Window) -> list[PlannedText]:
    """Lay one number's texts (each its recipient's zones and its segments, in queue order)
    out at the number's pace, each inside its own recipient's window.

    One slot at a time, the number serves the open zone whose window closes soonest, so a
    campaign over several zones goes out zone by zone and no slot is wasted while any
    recipient's window is open. A text of n segments occupies n intervals. This is a plan, so
    that a big campaign does not make 100,000 texts due at once; the claim still checks each
    text's window and the number's real pace when it comes due.
    """
    groups: dict[tuple[str, ...], _Zone] = {}
    for index, (zones, _segments) in enumerate(texts):
        if zones not in groups:
            groups[zones] = _Zone(zones, deque(), *open_span(start, zones, window))
        groups[zones].queue.append(index)
    shut_now = {z for z in groups if next_allowed(now, z, window) != now}
    planned: list[PlannedText | None] = [None] * len(texts)
    at, left = start, [g for g in groups.values() if g.queue]
    while left:
        best: _Zone | None = None
        for group in left:
            if group.closes <= at:
                group.opens, group.closes = open_span(at, group.zones, window)
            if group.opens <= at and (best is None or group.closes < best.closes):
                best = group
        if best is None:
            at = min(g.opens for g in left)
            continue
        index = best.queue.popleft()
        planned[index] = PlannedText(at, _hold(now, start, at, best.zones in shut_now))
        at += interval * max(texts[index][1], 1)
        if not best.queue:
            left.remove(best)
    return [p for p in planned if p is not None]


def _hold(now: datetime, start: datetime, at: datetime, shut_now: bool) -> str | None:
    """What holds a text planned for `at`, now: nothing when due, else the campaign's start,
    its recipient's shut window, or (window open, campaign started) its number's pace."""
    if at <= now:
        return None
    if start > now:
        return "campaign_scheduled"
    return "quiet_hours" if shut_now else "rate_limited"
