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
class Stretch:
    """Texts first_index, first_index+1, … of one number start at `opens`, one interval apart."""

    first_index: int
    opens: datetime


MAX_STRETCHES = 400  # about a year of daily windows; later texts keep the last stretch's pace


def plan_stretches(start: datetime, count: int, interval: timedelta, zone: str,
                   window: Window) -> list[Stretch]:
    """Lay `count` texts of one number out at its pace, skipping the hours the window is shut.

    This is a plan, so that a big campaign does not make 100,000 texts due at once; the claim
    still checks each text's own window and the number's real pace when it comes due.
    """
    stretches: list[Stretch] = []
    first, at = 0, next_allowed(start, (zone,), window)
    while first < count and len(stretches) < MAX_STRETCHES:
        stretches.append(Stretch(first, at))
        closes = window_close(at, zone, window)
        fits = max(1, -(-(closes - at) // interval))  # ceil: slots at, at+iv, … before close
        first += fits
        at = next_allowed(closes, (zone,), window)
    return stretches


def slot_of(index: int, stretches: list[Stretch], interval: timedelta) -> datetime:
    """Where text `index` lands in the plan (the same arithmetic the database does in bulk)."""
    stretch = max((s for s in stretches if s.first_index <= index), key=lambda s: s.first_index)
    return stretch.opens + interval * (index - stretch.first_index)
