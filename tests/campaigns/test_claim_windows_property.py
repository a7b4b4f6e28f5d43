"""Property, through the real claim: whatever the recipients' zones, the practice's hours, the
start time and the DST changes, the connector never claims a campaign text outside its
recipient's window, and a text whose window is open on a free number is not held."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.automation.support import campaign, campaign_texts, claim, patient
from tests.domain.test_campaign_plan_property import AREA_CODES, DST_DAYS, _allowed
from tests.helpers import make_practice
from textdesk.domain.phone import time_zones
from textdesk.domain.schedule import EmptyWindow, Window, practice_window, recipient_zones
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

_SERIAL = itertools.count(1)
# Every phone of every example (one database serves them all: an earlier example's texts may
# be claimed in a later one), with its recipient's zones and its practice's window.
_KNOWN: dict[str, tuple[tuple[str, ...], Window]] = {}


def _zones_of(phone: str) -> tuple[str, ...]:
    return recipient_zones(time_zones(phone), "America/New_York")


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(areas=st.lists(st.sampled_from(AREA_CODES), min_size=1, max_size=5),
       opens=st.integers(6, 20), hours=st.integers(1, 15), day=st.sampled_from(DST_DAYS),
       minutes=st.integers(0, 36 * 60),
       steps=st.lists(st.integers(1, 600), min_size=5, max_size=30))
def test_the_claim_never_sends_outside_the_window(
        client: TestClient, db: Database, clock: FrozenClock, areas: list[str], opens: int,
        hours: int, day: datetime, minutes: int, steps: list[int]) -> None:
    start, end = f"{opens:02d}:00", f"{min(opens + hours, 23):02d}:00"
    try:
        window = practice_window(start, end)
    except EmptyWindow:
        return
    serial = next(_SERIAL)
    practice = make_practice(client, name=f"P{serial}", number=f"+1646555{serial:04d}")
    assert client.patch("/api/v1/practice", json={"quiet_hours": {"start": start, "end": end}},
                        headers=practice.auth).status_code == 200
    phones = [f"+1{area}{200 + serial % 800}{serial // 800 % 100:02d}{i:02d}"
              for i, area in enumerate(areas)]
    for phone in phones:
        _KNOWN[phone] = (_zones_of(phone), window)
        patient(client, practice, phone)
    clock.set(day + timedelta(minutes=minutes))
    made = campaign(client, practice, body="Hi {first_name}, time for a cleaning.")
    texts = campaign_texts(db, made["id"])
    for text in texts:
        zones = _zones_of(text.to_e164)
        assert _allowed(text.next_attempt_at, zones, window)
        if text.wait_reason == "rate_limited":
            assert _allowed(clock.now(), zones, window)
        if text.wait_reason == "quiet_hours":
            assert not _allowed(clock.now(), zones, window)
    if any(_allowed(clock.now(), _zones_of(t.to_e164), window) for t in texts):
        assert any(t.wait_reason is None for t in texts)
    for step in steps:
        for job in claim(db, clock):
            assert _allowed(clock.now(), *_KNOWN[job.to]), job.to
        clock.advance(minutes=step)
    assert clock.now() > datetime(2026, 1, 1, tzinfo=UTC)
