"""How long a text stays worth sending, and what its expiry is called once it came.

Every automated kind has a validity: a reminder or a confirmation request is no use once its
appointment is about to begin, a campaign text belongs to its day, an answer to a patient's own
text is stale after a day. A staff text has none: staff decide about their own texts. The
carrier is told too (Twilio's `ValidityPeriod`), so a text that waits in the carrier's queue is
dropped there as well. A text still here when its validity ends is canceled, never sent, with a
reason naming what held it (`expired_connector_down` …), or `expired` when nothing did.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from textdesk.domain.messages import MessageKind

# A reminder must arrive a while before its appointment begins, or it only disturbs.
REMINDER_MARGIN = timedelta(minutes=15)
# An automatic answer (STOP's confirmation, HELP, "this line takes no replies") and any other
# automated text with no appointment to follow.
ANSWER_VALIDITY = timedelta(hours=24)
AUTOMATED_VALIDITY = timedelta(hours=24)

# What may hold a text until it is too late; each has its `expired_<hold>` reason code.
EXPIRING_HOLDS = ("connector_down", "quiet_hours", "rate_limited", "carrier_retry",
                  "daily_cap_reached", "number_pending_verification", "campaign_scheduled",
                  "line_type_lookup")
EXPIRED = "expired"
# Holds that are a campaign's own plan: its expiry moves with them, they never expire it.
NEVER_EXPIRE_WHILE = frozenset({"campaign_paused"})


def default_expiry(kind: MessageKind, now: datetime) -> datetime | None:
    """The validity a text of this kind gets when its sender names none."""
    if kind in (MessageKind.SYSTEM, MessageKind.COMPLIANCE):
        return now + ANSWER_VALIDITY
    if kind is MessageKind.AUTOMATED:
        return now + AUTOMATED_VALIDITY
    return None  # staff texts and test texts: no expiry


def reminder_expiry(appointment_start: datetime, leaves_at: datetime) -> datetime:
    """A reminder (or confirmation request) is valid until the appointment minus the margin;
    one planned inside the margin (a short lead time) is valid until the appointment itself."""
    end = appointment_start - REMINDER_MARGIN
    return end if end > leaves_at else appointment_start


def end_of_day(at: datetime, timezone: str) -> datetime:
    """Midnight after `at` in the practice's time zone: a campaign text's day ends there."""
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)


def has_expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and now >= expires_at


def would_leave_late(expires_at: datetime | None, leaves_at: datetime) -> bool:
    """Whether a text that could leave only at `leaves_at` would leave after its validity."""
    return expires_at is not None and leaves_at >= expires_at


def seconds_left(expires_at: datetime | None, now: datetime) -> float | None:
    """What is left of the validity, for the carrier's ValidityPeriod (None: no expiry)."""
    return None if expires_at is None else (expires_at - now).total_seconds()


def expiry_reason(hold: str | None) -> str:
    """The cancel reason of an expired text: `expired_<the hold that kept it>`, or `expired`."""
    return f"{EXPIRED}_{hold}" if hold in EXPIRING_HOLDS else EXPIRED


def hold_of_expired(wait_reason: str | None, next_attempt_at: datetime,
                    expires_at: datetime, holds_now: list[str]) -> str | None:
    """What kept a text until it expired.

    A text whose next try was set past its validity was kept by the hold that set it (quiet
    hours, the number's pace, a retry). One that came due in time but is still here was kept
    by a hold the rules find now (a number awaiting verification), or — nothing held it, yet no
    connector took it — by the connector being down.
    """
    if next_attempt_at >= expires_at:
        return wait_reason
    if holds_now:
        return holds_now[0]
    return "connector_down"
