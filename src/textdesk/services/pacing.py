"""The paced claim (G4, and G1 at the last moment): per sending number, take only the campaign
texts its pace allows now, and give every other due one its hold and new time.

Runs inside the connector's claim transaction. Each number's pacing row is locked for the
claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises claims), so
two connectors never both take a slot: the pace holds across processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.errors import Invalid
from textdesk.domain.pacing import PACED_KINDS, Pace, Slot, admit, pace_for
from textdesk.domain.schedule import Window, is_allowed, next_allowed
from textdesk.services.automation import send_window, zones_for
from textdesk.storage import pacing as pacing_store
from textdesk.storage import practices as practice_store
from textdesk.storage.models import Message, Practice

CANDIDATES_PER_NUMBER = 200  # due texts looked at per number and pass


def claim_paced(session: Session, connector_id: str, now: datetime, lease_until: datetime,
                is_postgres: bool) -> list[Message]:
    claimed: list[Message] = []
    for sender in pacing_store.numbers_with_due_work(session, now):
        ids = _admit_for_number(session, sender, now, is_postgres)
        claimed += pacing_store.claim(session, ids, connector_id, now, lease_until)
    return claimed


def pace_of(practice: Practice, number_kind: str) -> Pace:
    """The number kind's pace with the practice's overrides (settings["pacing"][kind])."""
    overrides: Any = (practice.settings or {}).get("pacing")
    return pace_for(number_kind, overrides if isinstance(overrides, dict) else None)


def _admit_for_number(session: Session, sender: pacing_store.Sender, now: datetime,
                      is_postgres: bool) -> list[int]:
    row = pacing_store.lock_pace(session, sender.number_id, now, is_postgres)
    if row is None:
        return []
    candidates = pacing_store.due_candidates(session, sender.number_id, now,
                                             CANDIDATES_PER_NUMBER)
    ready, waits = _inside_window(sender.practice, candidates, now)
    pace = pace_of(sender.practice, sender.kind)
    admission = admit(Slot(row.next_at, row.day, row.day_segments), now,
                      [c.segments for c in ready], pace)
    pacing_store.save_pace(row, admission.state.next_at, admission.state.day,
                           admission.state.day_segments)
    left = ready[len(admission.taken):]
    if left and admission.wait_until is not None:
        hold = "daily_cap_reached" if admission.capped else "rate_limited"
        # Each waiting text gets the slot it will likely have, so they come due one by one.
        at = admission.wait_until
        for candidate in left:
            waits.append((candidate.id, at, hold))
            at += pace.interval * max(candidate.segments, 1)
    pacing_store.postpone(session, waits, now)
    return [ready[i].id for i in admission.taken]


def _inside_window(practice: Practice, candidates: list[pacing_store.Candidate],
                   now: datetime) -> tuple[list[pacing_store.Candidate],
                                           list[tuple[int, datetime, str]]]:
    """Split due texts into those inside the recipient's window now and those that wait."""
    try:
        window = send_window(practice)
    except Invalid:  # a practice's empty window must not stop every number's sending
        window = Window()
    ready: list[pacing_store.Candidate] = []
    waits: list[tuple[int, datetime, str]] = []
    for candidate in candidates:
        zones = zones_for(practice, candidate.to_e164)
        if is_allowed(now, zones, window):
            ready.append(candidate)
        else:
            waits.append((candidate.id, next_allowed(now, zones, window), "quiet_hours"))
    return ready, waits


def seconds_until_next(session: Session, now: datetime, longest: float) -> float:
    """How long the connector may sleep before a paced text is due (at most `longest`)."""
    due = pacing_store.next_due_at(session, now)
    if due is None:
        return longest
    return max(0.0, min(longest, (due - now) / timedelta(seconds=1)))


def after_sent(session: Session, messages: list[Message], answered_at: datetime) -> None:
    """Campaign texts the carrier took: their number's next slot is at least one interval
    (per segment) after the carrier answered. The carrier received a text before answering,
    so slots counted this way keep arrivals apart however long each request took."""
    latest: dict[int, datetime] = {}
    for message in messages:
        if message.kind not in PACED_KINDS or message.number_id is None:
            continue
        number = practice_store.get_number(session, message.number_id)
        practice = practice_store.get_practice(session, message.practice_id)
        if number is None or practice is None:
            continue
        at = answered_at + pace_of(practice, number.kind).interval * max(message.segments, 1)
        latest[number.id] = max(at, latest.get(number.id, at))
    for number_id, at in sorted(latest.items()):
        pacing_store.push_next(session, number_id, at)
