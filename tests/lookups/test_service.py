"""Lookups against the simulator's Lookup v2 endpoint: asked once, kept, within budget."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.carriers.conftest import ACCOUNT_SID, AUTH_TOKEN, RunningSimulator
from tests.helpers import make_practice
from textdesk.carriers.lookup import TwilioLookup
from textdesk.lookups import service
from textdesk.storage.db import Database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def lookup(running_simulator: RunningSimulator) -> Iterator[TwilioLookup]:
    running_simulator.sim.reset()
    client = TwilioLookup(ACCOUNT_SID, AUTH_TOKEN, running_simulator.url, timeout=5)
    yield client
    client.close()


def _count(sim: RunningSimulator) -> int:
    return int(sim.http.get("/sim/lookups").json()["count"])


def test_a_phone_is_looked_up_once_and_the_answer_kept(
        client: object, db: Database, running_simulator: RunningSimulator,
        lookup: TwilioLookup) -> None:
    practice = make_practice(client)  # type: ignore[arg-type]
    running_simulator.http.post("/sim/landlines", json={"number": "+14155550123"})
    with db.transaction() as session:
        assert service.request(session, practice.id, "+14155550123", NOW)
        assert not service.request(session, practice.id, "+14155550123", NOW)  # queued once
        assert service.line_type(session, practice.id, "+14155550123") is None
    assert _count(running_simulator) == 0  # queuing never calls the carrier
    assert service.run_pending(db, lookup, NOW) == 1
    assert service.run_pending(db, lookup, NOW) == 0  # a cached answer is not asked again
    with db.transaction() as session:
        assert not service.request(session, practice.id, "+14155550123", NOW)
        assert service.line_type(session, practice.id, "+14155550123") == "landline"
    assert service.run_pending(db, lookup, NOW) == 0
    assert _count(running_simulator) == 1


def test_the_monthly_budget_holds_lookups_until_next_month(
        client: object, db: Database, running_simulator: RunningSimulator,
        lookup: TwilioLookup) -> None:
    practice = make_practice(client)  # type: ignore[arg-type]
    with db.transaction() as session:
        for phone in ("+14155550131", "+14155550132", "+14155550133"):
            service.request(session, practice.id, phone, NOW)
    assert service.run_pending(db, lookup, NOW, budget=2) == 2
    assert _count(running_simulator) == 2
    assert service.run_pending(db, lookup, NOW, budget=2) == 0
    april = datetime(2026, 4, 1, 0, 1, tzinfo=UTC)
    assert service.run_pending(db, lookup, april, budget=2) == 1
    with db.transaction() as session:
        assert service.line_type(session, practice.id, "+14155550133") == "mobile"


def test_a_new_leads_phone_is_queued_and_looked_up_by_the_scheduler(
        client: object, db: Database, running_simulator: RunningSimulator,
        lookup: TwilioLookup) -> None:
    practice = make_practice(client)  # type: ignore[arg-type]
    running_simulator.http.post("/sim/landlines", json={"number": "+14155550177"})
    r = client.post("/api/v1/leads", json={  # type: ignore[attr-defined]
        "first_name": "Lee", "phone": "+1 415-555-0177", "clinic_id": practice.clinic_id,
        "source": "web_form"}, headers=practice.auth)
    assert r.status_code == 201, r.text
    assert _count(running_simulator) == 0  # the web request never calls the carrier
    assert service.run_pending(db, lookup, NOW) == 1
    with db.transaction() as session:
        assert service.line_type(session, practice.id, "+14155550177") == "landline"
