"""A practice's own monthly lookup budget, and lookups before a campaign's texts go: phones
never checked are asked about first, and a landline found then is skipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.automation.support import campaign, campaign_texts, claim, patient
from tests.carriers.conftest import ACCOUNT_SID, AUTH_TOKEN, RunningSimulator
from tests.helpers import Practice, make_practice
from textdesk.carriers.lookup import TwilioLookup
from textdesk.kit.clock import FrozenClock
from textdesk.lookups import service
from textdesk.storage.db import Database

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York: the window is open
PHONES = ["+12125550101", "+12125550102", "+12125550103"]
LANDLINE = PHONES[1]


@pytest.fixture
def lookup(running_simulator: RunningSimulator) -> Iterator[TwilioLookup]:
    running_simulator.sim.reset()
    client = TwilioLookup(ACCOUNT_SID, AUTH_TOKEN, running_simulator.url, timeout=5)
    yield client
    client.close()


def lookups_made(sim: RunningSimulator) -> list[str]:
    return list(sim.http.get("/sim/lookups").json()["numbers"])


def set_budget(client: TestClient, practice: Practice, budget: object) -> dict[str, object]:
    r = client.patch("/api/v1/practice", json={"lookup_monthly_budget": budget},
                     headers=practice.auth)
    return {"status": r.status_code, **r.json()}


def test_a_practice_sets_its_own_budget(client: TestClient) -> None:
    practice = make_practice(client)
    assert client.get("/api/v1/practice",
                      headers=practice.auth).json()["lookup_monthly_budget"] is None
    assert set_budget(client, practice, 25)["lookup_monthly_budget"] == 25
    for bad in (-1, 1.5, "ten", True, 10**9):
        refused = set_budget(client, practice, bad)
        assert refused["status"] in (400, 422)
        assert refused["error"] == "invalid_lookup_monthly_budget"
    assert client.get("/api/v1/practice",
                      headers=practice.auth).json()["lookup_monthly_budget"] == 25
    assert set_budget(client, practice, None)["lookup_monthly_budget"] is None  # the default


def test_each_practice_is_looked_up_within_its_own_budget(
        client: TestClient, db: Database, running_simulator: RunningSimulator,
        lookup: TwilioLookup) -> None:
    own = make_practice(client, name="Own budget", number="+14155550001")
    default = make_practice(client, name="Default budget", number="+14155550002")
    set_budget(client, own, 1)
    with db.transaction() as session:
        for phone in ("+14155550131", "+14155550132"):
            service.request(session, own.id, phone, NOW)
            service.request(session, default.id, phone, NOW)
    # The deployment's budget is 0 (no lookups), yet the practice's own allows one.
    assert service.run_pending(db, lookup, NOW, budget=0) == 1
    assert service.run_pending(db, lookup, NOW, budget=0) == 0
    assert len(lookups_made(running_simulator)) == 1
    # The deployment's budget serves the practice without its own.
    assert service.run_pending(db, lookup, NOW, budget=5) == 2
    assert len(lookups_made(running_simulator)) == 3


def test_a_campaign_asks_first_and_skips_the_landline_it_finds(
        client: TestClient, db: Database, clock: FrozenClock,
        running_simulator: RunningSimulator, lookup: TwilioLookup) -> None:
    practice = make_practice(client)
    set_budget(client, practice, 10)
    for phone in PHONES:
        patient(client, practice, phone)
    assert service.run_pending(db, lookup, NOW, budget=0) == 3  # every phone answered once
    running_simulator.http.post("/sim/landlines", json={"number": LANDLINE})
    with db.transaction() as session:  # two of them as if never answered (no budget then)
        for phone in PHONES[1:]:
            row = service.store.get(session, practice.id, phone)
            assert row is not None
            row.status, row.line_type = "pending", None
    clock.set(NOW)
    made = campaign(client, practice, body="Hi {first_name}, time for a cleaning.")
    # The phone answered before goes; the texts to the others wait for their lookups …
    assert [job.to for job in claim(db, clock)] == [PHONES[0]]
    clock.advance(seconds=3)  # their planned slots have come: they wait on
    assert claim(db, clock) == []
    texts = {t.to_e164: t for t in campaign_texts(db, made["id"])}
    assert {t.wait_reason for p, t in texts.items() if p != PHONES[0]} == {"line_type_lookup"}
    held = client.get(f"/api/v1/messages/{texts[LANDLINE].id}", headers=practice.auth).json()
    assert "line_type_lookup" in [h["code"] for h in held["holds"]]

    assert service.run_pending(db, lookup, clock.now(), budget=0) == 2  # … asked once each
    assert sorted(lookups_made(running_simulator)[3:]) == sorted(PHONES[1:])
    clock.advance(seconds=10)
    sent = []
    for _ in range(10):  # the number's pace lets one out at a time
        sent += [job.to for job in claim(db, clock)]
        clock.advance(seconds=2)
    assert sent == [PHONES[2]]  # the landline's text never left
    progress = client.get(f"/api/v1/campaigns/{made['id']}",
                          headers=practice.auth).json()["progress"]
    assert progress["skipped_by_reason"] == {"phone_landline": 1}
    assert progress["canceled"] == 0
    assert service.run_pending(db, lookup, clock.now(), budget=0) == 0
    assert len(lookups_made(running_simulator)) == 5  # nobody was asked twice


def test_without_a_budget_a_campaign_does_not_wait_for_lookups(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient(client, practice, PHONES[0])
    clock.set(NOW)
    made = campaign(client, practice, body="Hi {first_name}, time for a cleaning.")
    assert [job.to for job in claim(db, clock)] == [PHONES[0]]
    assert campaign_texts(db, made["id"])[0].wait_reason is None


def test_a_campaign_waits_for_its_lookups_only_so_long(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    """The carrier never answers (no connector runs the lookups): after LOOKUP_WAIT the texts
    go unchecked rather than never."""
    practice = make_practice(client)
    set_budget(client, practice, 10)
    patient(client, practice, PHONES[0])
    clock.set(NOW)
    campaign(client, practice, body="Hi {first_name}, time for a cleaning.")
    assert claim(db, clock) == []
    clock.advance(seconds=service.LOOKUP_WAIT / timedelta(seconds=1) + 1)
    assert [job.to for job in claim(db, clock)] == [PHONES[0]]
