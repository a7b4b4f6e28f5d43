"""Recall links (Web Sched style): a signed, expiring link opens a page where the patient asks
for a visit time; staff see the requests and call back to book."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from textdesk.automation import store as store
from textdesk.automation.service import open_link
from textdesk.domain.errors import Invalid
from textdesk.domain.links import LinkError, LinkKind
from textdesk.domain.schedule import zone
from textdesk.storage import directory as practice_store
from textdesk.storage.models import RecallRequest

PARTS_OF_DAY = ("morning", "afternoon", "evening")
BOOKABLE_DAYS = 90


@dataclass(frozen=True)
class RecallPage:
    practice_id: int
    practice_name: str
    patient_id: int
    first_name: str  # the page greets the patient; nothing more about them is shown
    first_day: date
    last_day: date


def look_up(session: Session, token: str, now: datetime) -> RecallPage:
    claim = open_link(session, token, LinkKind.RECALL, now)
    practice = practice_store.get_practice(session, claim.practice_id)
    patient = practice_store.get_patient(session, claim.practice_id, claim.subject_id)
    if practice is None or patient is None:
        raise LinkError("link_invalid", "This link is not valid.")
    today = now.astimezone(zone(practice.timezone)).date()
    return RecallPage(practice.id, practice.name, patient.id, patient.first_name,
                      today + timedelta(days=1), today + timedelta(days=BOOKABLE_DAYS))


def request_time(session: Session, token: str, form: dict[str, Any], now: datetime
                 ) -> RecallPage:
    """Record the time the patient asked for; Invalid (nothing recorded) when it is unusable."""
    page = look_up(session, token, now)
    try:
        day = date.fromisoformat(str(form.get("preferred_day") or ""))
    except ValueError as exc:
        raise Invalid("invalid_preferred_day", "Pick a day.") from exc
    if not page.first_day <= day <= page.last_day:
        raise Invalid("invalid_preferred_day",
                      f"Pick a day between {page.first_day:%b %d} and {page.last_day:%b %d}.")
    part = str(form.get("part_of_day") or "")
    if part not in PARTS_OF_DAY:
        raise Invalid("invalid_part_of_day", "Pick morning, afternoon or evening.")
    note = str(form.get("note") or "").strip()[:500]
    store.add(session, RecallRequest(practice_id=page.practice_id, patient_id=page.patient_id,
                                     preferred_day=day, part_of_day=part, note=note,
                                     created_at=now))
    return page
