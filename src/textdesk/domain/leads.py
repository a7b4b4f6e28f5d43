"""Leads (the digital front door): stages, their transition table and the automation rules.

```
  new ─► contacted ─► engaged ─► scheduled ─► closed_won      active: new, contacted, engaged
   │         │           │  ▲        │  ▲                     inactive: scheduled, closed_*
   │         │           │  └────────┘  │  (scheduled → engaged: its appointment fell through)
   ├─────────┴───────────┴──────────────┘  (booked inside the window: straight to closed_won)
   └─────────┴───────────┴───────────┴──► closed_lost  (staff, or no activity for the window)
```

`new`, `contacted`, `engaged` are active: the lead thread is open for two-way texting.
`scheduled`, `closed_won`, `closed_lost` are inactive (D2); the closed stages are terminal.
An active lead may skip ahead (a lead who texts first goes `new → engaged`), never back.
`scheduled` may return to `engaged` only because its appointment fell through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from textdesk.domain.consent import display_phone
from textdesk.domain.eligibility import ACTIVE_LEAD_STAGES


class LeadStage(StrEnum):
    NEW = "new"  # came in, nobody has worked it yet
    CONTACTED = "contacted"  # the practice reached out
    ENGAGED = "engaged"  # the person answered
    SCHEDULED = "scheduled"  # booked, but outside the appointment window (not yet a win)
    CLOSED_WON = "closed_won"  # converted: booked inside the appointment window (terminal)
    CLOSED_LOST = "closed_lost"  # will not convert (staff, or gone quiet) (terminal)


# The rule engine (domain/eligibility.py) owns which stages may be texted; reuse it here.
ACTIVE_STAGES = frozenset(LeadStage(value) for value in ACTIVE_LEAD_STAGES)
CLOSED_STAGES = frozenset({LeadStage.CLOSED_WON, LeadStage.CLOSED_LOST})
# Open leads are the ones a new inquiry with the same phone is merged into.
OPEN_STAGES = frozenset(LeadStage) - CLOSED_STAGES

_N, _C, _E = LeadStage.NEW, LeadStage.CONTACTED, LeadStage.ENGAGED
_S, _W, _L = LeadStage.SCHEDULED, LeadStage.CLOSED_WON, LeadStage.CLOSED_LOST

TRANSITIONS: dict[LeadStage, frozenset[LeadStage]] = {
    _N: frozenset({_C, _E, _S, _W, _L}),
    _C: frozenset({_E, _S, _W, _L}),
    _E: frozenset({_S, _W, _L}),
    _S: frozenset({_E, _W, _L}),
    _W: frozenset(),
    _L: frozenset(),
}


# Staff may take a closed lead up again (the patient came back, or it was closed by mistake):
# not a move in the table above, which keeps closed stages terminal for every rule, but an
# explicit reopening with its reason, back to being worked.
REOPEN_TO = LeadStage.CONTACTED


def can_reopen(current: LeadStage) -> bool:
    """Only a closed lead is reopened; an open or scheduled one is moved instead."""
    return current in CLOSED_STAGES


def can_move(current: LeadStage, new: LeadStage) -> bool:
    """Whether a lead may move from `current` to `new` (staying put is not a move)."""
    return new in TRANSITIONS[current]


def is_active(stage: LeadStage) -> bool:
    return stage in ACTIVE_STAGES


class LeadSource(StrEnum):
    WEB_FORM = "web_form"  # a form on the practice's site
    CALL = "call"  # a phone call to the office
    AD = "ad"  # an online or print advertisement
    REFERRAL = "referral"  # sent by a patient or another office
    WALK_IN = "walk_in"  # came to the front desk
    OTHER = "other"  # anything else


class ChangedBy(StrEnum):
    STAFF = "staff"  # a person, through the API or pages
    AUTOMATION = "automation"  # a rule: texting, a reply, a booking, the scheduler


# --- settings -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeadSettings:
    """Per-practice automation windows, kept in Practice.settings."""

    appointment_window_days: int = 30  # a booking this soon after the lead came in is a win
    inactivity_days: int = 15  # an active lead this long without activity is lost

    def as_dict(self) -> dict[str, int]:
        return {"lead_appointment_window_days": self.appointment_window_days,
                "lead_inactivity_days": self.inactivity_days}


SETTING_KEYS = {"lead_appointment_window_days": "appointment_window_days",
                "lead_inactivity_days": "inactivity_days"}
MAX_WINDOW_DAYS = 365


def settings_from(stored: dict[str, Any] | None) -> LeadSettings:
    """The settings a practice's JSON holds, with defaults for what it does not."""
    stored = stored or {}
    values = {attr: stored[key] for key, attr in SETTING_KEYS.items()
              if is_valid_window(stored.get(key))}
    return LeadSettings(**values)


def is_valid_window(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)
            and 1 <= value <= MAX_WINDOW_DAYS)


# --- automation rules -----------------------------------------------------------------------

def is_booking_a_win(lead_created_at: datetime, booked_at: datetime,
                     settings: LeadSettings) -> bool:
    """A booking made within the appointment window of the lead's arrival converts it."""
    window = timedelta(days=settings.appointment_window_days)
    return lead_created_at <= booked_at <= lead_created_at + window


def stage_after_booking(current: LeadStage, lead_created_at: datetime, booked_at: datetime,
                        settings: LeadSettings) -> LeadStage | None:
    """Where a booking takes the lead, or None when it stays where it is."""
    if current in CLOSED_STAGES:
        return None  # a closed lead's history is not rewritten
    if is_booking_a_win(lead_created_at, booked_at, settings):
        return LeadStage.CLOSED_WON
    return None if current is LeadStage.SCHEDULED else LeadStage.SCHEDULED


def stage_after_cancellation(current: LeadStage, has_other_booking: bool) -> LeadStage | None:
    """A scheduled lead whose only appointment fell through goes back to work."""
    if current is LeadStage.SCHEDULED and not has_other_booking:
        return LeadStage.ENGAGED
    return None


def inactivity_cutoff(now: datetime, settings: LeadSettings) -> datetime:
    """Active leads with no activity since before this instant are lost."""
    return now - timedelta(days=settings.inactivity_days)


def is_gone_quiet(stage: LeadStage, last_activity_at: datetime, now: datetime,
                  settings: LeadSettings) -> bool:
    return stage in ACTIVE_STAGES and last_activity_at <= inactivity_cutoff(now, settings)


def stage_after_outbound(current: LeadStage) -> LeadStage | None:
    """Staff texting a new lead means it has been contacted."""
    return LeadStage.CONTACTED if current is LeadStage.NEW else None


def stage_after_reply(current: LeadStage) -> LeadStage | None:
    """A reply from an active lead that was not engaged yet engages it."""
    return LeadStage.ENGAGED if current in (LeadStage.NEW, LeadStage.CONTACTED) else None


# --- the redirect (D3) ----------------------------------------------------------------------

# At most one automated redirect per lead in any 24 hours: a day is counted from the last one.
REDIRECT_EVERY = timedelta(hours=24)


def redirect_cutoff(now: datetime) -> datetime:
    """A redirect may go out if the last one was sent at or before this instant."""
    return now - REDIRECT_EVERY


def may_redirect(last_redirect_at: datetime | None, now: datetime) -> bool:
    return last_redirect_at is None or last_redirect_at <= redirect_cutoff(now)


def redirect_text(clinic_name: str | None, clinic_phone_e164: str | None) -> str:
    """The automated answer to a reply in a closed lead thread: contact the clinic directly."""
    who = clinic_name or "the clinic"
    at = f" at {display_phone(clinic_phone_e164)}" if clinic_phone_e164 else ""
    return f"Thanks for your message. This conversation is closed; please contact {who} " \
           f"directly{at}."

