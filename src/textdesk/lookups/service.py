"""Asking the carrier a phone's line type: queued by the app, performed by the scheduler.

Each practice has a monthly budget of lookups (a lookup costs money on the carrier): its own
setting (`lookup_monthly_budget` in the practice's settings), else the deployment's
(`TEXTDESK_LOOKUP_MONTHLY_BUDGET`). A campaign asks, before its texts go, about the phones of
its audience never checked, within what is left of the budget; its texts to those phones wait
(`line_type_lookup`) for the answer, a few minutes at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from textdesk.carriers.base import CarrierError
from textdesk.carriers.lookup import TwilioLookup
from textdesk.lookups import store
from textdesk.storage.db import Database
from textdesk.storage.models import Practice

MONTHLY_BUDGET = 500  # run_pending's budget when its caller names none
BATCH = 50  # lookups asked per practice and pass
BUDGET_SETTING = "lookup_monthly_budget"
# How long a campaign's text waits for its phone's lookup before it goes unchecked.
LOOKUP_WAIT = timedelta(minutes=10)
LOOKUP_RECHECK = timedelta(seconds=5)  # a waiting text looks again this much later


def request(session: Session, practice_id: int, phone_e164: str | None,
            now: datetime) -> bool:
    """Queue a lookup of the phone unless it was asked before; True when newly queued."""
    if not phone_e164:
        return False
    return store.add_pending(session, practice_id, phone_e164, now)


def request_many(session: Session, practice_id: int, phones: list[str | None],
                 now: datetime) -> None:
    """`request` for many phones at once (an import), in one statement."""
    store.add_pending_many(session, practice_id, sorted({p for p in phones if p}), now)


def line_type(session: Session, practice_id: int, phone_e164: str | None) -> str | None:
    """The kept answer for this practice's phone, or None when not (yet) known."""
    if not phone_e164:
        return None
    found = store.get(session, practice_id, phone_e164)
    return found.line_type if found is not None and found.status == "done" else None


def budget_of(settings: dict[str, Any] | None, default: int) -> int:
    """A practice's lookups a month: its own setting, else the deployment's."""
    own = (settings or {}).get(BUDGET_SETTING)
    return int(own) if isinstance(own, int) and not isinstance(own, bool) else default


def line_types(session: Session, practice_id: int, phones: set[str]) -> dict[str, str]:
    """`line_type` of many phones in one query (absent: not known)."""
    return store.done_by_phone(session, practice_id, phones)


def _month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def remaining(session: Session, practice: Practice, default_budget: int, now: datetime) -> int:
    """Lookups the practice may still make this calendar month (UTC)."""
    budget = budget_of(practice.settings, default_budget)
    return max(budget - store.done_since(session, practice.id, _month_start(now)), 0)


def request_before_campaign(session: Session, practice: Practice, phones: Iterable[str],
                            now: datetime, default_budget: int) -> int:
    """Ask about a campaign's phones never checked, as far as the month's budget goes: new
    phones are queued, phones queued long ago (no budget then) are asked again now, so their
    texts wait for the answer. Phones already answered are never asked again. Returns how
    many phones the campaign now waits for."""
    left = remaining(session, practice, default_budget, now)
    if left <= 0:
        return 0
    unanswered = store.unanswered(session, practice.id, sorted(set(phones)))
    chosen = unanswered[:left]
    store.queue_now(session, practice.id, chosen, now)
    return len(chosen)


def awaiting(session: Session, practice_id: int, phones: Iterable[str],
             now: datetime) -> set[str]:
    """Which of these phones a campaign waits for: asked within the budget in the last
    LOOKUP_WAIT and not answered yet."""
    return store.pending_since(session, practice_id, sorted(set(phones)), now - LOOKUP_WAIT)


def run_pending(db: Database, client: TwilioLookup, now: datetime,
                budget: int = MONTHLY_BUDGET) -> int:
    """One pass of the scheduler: look up queued phones within each practice's budget
    (`budget` is the deployment's, for practices without their own); newest requests first,
    since someone waits for those (a new patient, a campaign about to go)."""
    changed = 0
    with db.transaction() as session:
        for practice in store.practices_with_pending(session):
            left = remaining(session, practice, budget, now)
            if left <= 0:
                continue  # they stay pending until next month's budget
            for row in store.pending(session, practice.id, min(left, BATCH)):
                try:
                    answer = client.line_type(row.phone_e164)
                except CarrierError as exc:
                    if exc.is_transient:
                        continue
                    row.status, row.looked_up_at = "failed", now
                else:
                    row.status, row.looked_up_at = "done", now
                    row.line_type, row.carrier_name = answer.type, answer.carrier_name
                session.flush()
                changed += 1
    return changed
