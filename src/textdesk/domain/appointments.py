"""Appointments: the status lifecycle and its transition table.

```
  scheduled ─► confirmed ─► completed
      │            │
      └────────────┴──────► cancelled
      └───────────────────► completed
```
"""

from __future__ import annotations

from enum import StrEnum


class AppointmentStatus(StrEnum):
    SCHEDULED = "scheduled"  # booked
    CONFIRMED = "confirmed"  # the patient confirmed it
    CANCELLED = "cancelled"  # called off (terminal)
    COMPLETED = "completed"  # the visit took place (terminal)


_S, _F = AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED
_X, _D = AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED

TRANSITIONS: dict[AppointmentStatus, frozenset[AppointmentStatus]] = {
    _S: frozenset({_F, _X, _D}),
    _F: frozenset({_X, _D}),
    _X: frozenset(),
    _D: frozenset(),
}

# An appointment that still stands: it books the person (and converts a lead).
LIVE = frozenset({_S, _F, _D})


def can_move(current: AppointmentStatus, new: AppointmentStatus) -> bool:
    return new in TRANSITIONS[current]
