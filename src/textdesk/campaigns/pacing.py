"""The paced claim (G4, and G1 at the last moment): per sending number, take only the campaign
texts its pace allows now, and give every other due one its hold and new time.

Runs inside the connector's claim transaction. Each number's pacing row is locked for the
claim (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises claims), so
two connectors never both take a slot: the pace holds across processes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from textdesk.automation.service import send_window, zones_for
from textdesk.campaigns.store import pacing as pacing_store
from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.expiry import end_of_day
from textdesk.domain.pacing import PACED_KINDS, Pace, Slot, admit, pace_for
from textdesk.domain.schedule import Window, next_allowed
from textdesk.lookups import service as lookups
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Message, NumberPace, Practice, SendingNumber

CANDIDATES_PER_NUMBER = 200  # due texts looked at per number and pass


def claim_paced(session: Session, connector_id: str, now: datetime, lease_until: datetime
                ) -> list[Message]:
    claimed: list[Message] = []
    for sender in pacing_store.numbers_with_due_work(session, now):
        ids = _admit_for_number(session, sender, now)
        claimed += pacing_store.claim(session, ids, connector_id, now, lease_until)
    return claimed


def pace_of(kind: str, row: NumberPace | None) -> Pace:
    """A number's pace: its kind's default, or what the carrier granted it."""
    if row is None:
        return pace_for(kind)
    return pace_for(kind, segments_per_second=row.segments_per_second,
                    daily_cap=row.daily_cap, burst_segments=row.burst_segments)


def pace_of_number(session: Session, number: SendingNumber) -> Pace:
    return pace_of(number.kind, pacing_store.get_pace(session, number.id))


def _admit_for_number(session: Session, sender: pacing_store.Sender, now: datetime
                      ) -> list[int]:
    row = pacing_store.lock_pace(session, sender.number_id, now)
    if row is None:
        return []
    candidates = pacing_store.due_candidates(session, sender.number_id, now,
                                             CANDIDATES_PER_NUMBER)
    candidates, looking = _after_lookups(sender.practice, session, candidates, now)
    ready, waits = _inside_window(sender.practice, candidates, now)
    waits += looking
    pace = pace_of(sender.kind, row)
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
    zone = sender.practice.timezone
    pacing_store.postpone(session, [(mid, at, hold, end_of_day(at, zone))
                                    for mid, at, hold in waits], now)
    return [ready[i].id for i in admission.taken]


def _after_lookups(practice: Practice, session: Session,
                   candidates: list[pacing_store.Candidate], now: datetime
                   ) -> tuple[list[pacing_store.Candidate], list[tuple[int, datetime, str]]]:
    """Texts whose phone the carrier is being asked about wait a few seconds for the answer
    (`line_type_lookup`), so that a landline is found before its text leaves."""
    if not candidates:
        return candidates, []
    asked = lookups.awaiting(session, practice.id, {c.to_e164 for c in candidates}, now)
    if not asked:
        return candidates, []
    later = now + lookups.LOOKUP_RECHECK
    return ([c for c in candidates if c.to_e164 not in asked],
            [(c.id, later, "line_type_lookup") for c in candidates if c.to_e164 in asked])


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
        # The window's own first allowed instant (next_allowed's rule for zones that never
        # share an open hour included), so the claim and the plan judge a text alike.
        opens = next_allowed(now, zones_for(practice, candidate.to_e164), window)
        if opens == now:
            ready.append(candidate)
        else:
            waits.append((candidate.id, opens, "quiet_hours"))
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
        if number is None:
            continue
        at = answered_at + pace_of_number(session, number).interval * max(message.segments, 1)
        latest[number.id] = max(at, latest.get(number.id, at))
    for number_id, at in sorted(latest.items()):
        pacing_store.push_next(session, number_id, at)


GRANT_FIELDS = {"segments_per_second": (float, 0.01, 1000.0), "daily_cap": (int, 1, 10_000_000),
                "burst_segments": (int, 1, 1000)}


def grant(session: Session, number_id: int, data: dict[str, object], now: datetime
          ) -> NumberPace:
    """The operator records what the carrier granted a number; null restores the default."""
    unknown = set(data) - set(GRANT_FIELDS)
    if unknown or not data:
        raise Invalid("invalid_pace", "Give any of segments_per_second, daily_cap, "
                      "burst_segments (null restores the default).")
    if practice_store.get_number(session, number_id) is None:
        raise NotFound("number_not_found", "No such sending number.")
    values: dict[str, float | int | None] = {}
    for key, value in data.items():
        kind, low, high = GRANT_FIELDS[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not low <= value <= high
                                  or (kind is int and value != int(value))):
            raise Invalid("invalid_pace", f"{key} must be a number from {low} to {high}.")
        values[key] = None if value is None else kind(value)
    return pacing_store.set_granted(session, number_id, now, **values)


def describe(session: Session, number: SendingNumber) -> dict[str, object]:
    """A number's pace and where it stands today."""
    row = pacing_store.get_pace(session, number.id)
    pace = pace_of(number.kind, row)
    return {"number_id": number.id, "kind": number.kind,
            "segments_per_second": pace.segments_per_second, "daily_cap": pace.daily_cap,
            "burst_segments": pace.burst_segments,
            "next_slot_at": row.next_at.isoformat() if row else None,
            "segments_today": row.day_segments if row else 0}
