"""Texts that expire: a reminder held past its validity is canceled, never sent; one sent in
time carries what is left of its validity to the carrier as ValidityPeriod."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.automation.support import campaign, campaign_texts, patient, template
from tests.automation.test_reminders import book, rule, texts
from tests.carriers.conftest import RunningSimulator
from tests.helpers import Practice, make_practice
from textdesk.automation import reminders
from textdesk.carriers.twilio import TwilioCarrier
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch
from textdesk.storage.db import Database

NY_PHONE = "+12125550100"
APPOINTMENT = "2026-03-17T10:00:00-04:00"  # 14:00 UTC
REMINDER_AT = datetime(2026, 3, 17, 12, 0, tzinfo=UTC)  # 08:00 EDT, two hours before
CALLBACK = "http://127.0.0.1:9/webhooks/twilio/status"


def send_due(db: Database, carrier: TwilioCarrier, clock: FrozenClock) -> list[dispatch.Job]:
    """One pass of the connector: claim, hand to the carrier, record."""
    policy = dispatch.DispatchPolicy()
    jobs = dispatch.claim(db, "test", clock.now(), policy)
    accepted = []
    for job in jobs:
        outcome = dispatch.send_one(carrier, job, CALLBACK)
        assert not isinstance(outcome, Exception), outcome
        accepted.append((job, outcome))
    dispatch.record_accepted(db, accepted, clock.now())
    return jobs


@pytest.fixture
def reminder(client: TestClient, db: Database, clock: FrozenClock) -> tuple[Practice, int]:
    """A 2-hour reminder of a 10:00 appointment, written at 08:00 (still waiting)."""
    practice = make_practice(client)
    pid = patient(client, practice, NY_PHONE, first_name="Ana")
    rule(client, practice, template(client, practice, "See you at {appt_time}.", "reminder"),
         lead="2h")
    appointment = book(client, practice, pid, APPOINTMENT)
    clock.set(REMINDER_AT)
    assert reminders.run(db, clock.now()) == 1
    (text,) = texts(db, appointment)
    assert text.status == "pending"
    assert text.expires_at == datetime(2026, 3, 17, 13, 45, tzinfo=UTC)  # 15 minutes before
    return practice, text.id


@pytest.mark.parametrize("path", ["claim", "sweep"])
def test_a_reminder_held_past_its_validity_is_canceled_never_sent(
        client: TestClient, db: Database, clock: FrozenClock, carrier: TwilioCarrier,
        simulator: RunningSimulator, reminder: tuple[Practice, int], path: str) -> None:
    practice, message_id = reminder
    clock.set(datetime(2026, 3, 17, 13, 50, tzinfo=UTC))  # no connector ran until now
    if path == "claim":
        assert send_due(db, carrier, clock) == []  # the connector is back: it leaves not
    else:
        assert dispatch.expire_waiting(db, clock.now()) == 1
        assert send_due(db, carrier, clock) == []
    got = client.get(f"/api/v1/messages/{message_id}", headers=practice.auth).json()
    assert (got["status"], got["canceled_reason"]) == ("canceled", "expired_connector_down")
    assert got["cancellation"]["code"] == "expired_connector_down"
    assert "no connector was running" in got["cancellation"]["message"]
    assert simulator.http.get("/sim/log").json() == []  # the carrier never received it


def test_a_reminder_sent_in_time_tells_the_carrier_its_validity(
        db: Database, clock: FrozenClock, carrier: TwilioCarrier, simulator: RunningSimulator,
        reminder: tuple[Practice, int]) -> None:
    clock.advance(minutes=5)  # 08:05 EDT: 1 h 40 min before it is no use
    (job,) = send_due(db, carrier, clock)
    log = simulator.http.get("/sim/log").json()
    assert [entry["validity_period"] for entry in log] == [6000]


def test_a_staff_text_has_no_expiry_and_no_validity_period(
        client: TestClient, db: Database, clock: FrozenClock, carrier: TwilioCarrier,
        simulator: RunningSimulator) -> None:
    practice = make_practice(client)
    pid = patient(client, practice, NY_PHONE)
    sent = client.post("/api/v1/messages", json={"patient_id": pid, "body": "Hi"},
                       headers=practice.auth)
    assert sent.status_code == 201
    got = client.get(f"/api/v1/messages/{sent.json()['id']}", headers=practice.auth).json()
    assert got["expires_at"] is None
    clock.advance(days=30)
    assert dispatch.expire_waiting(db, clock.now()) == 0
    send_due(db, carrier, clock)
    assert [e["validity_period"] for e in simulator.http.get("/sim/log").json()] == [None]


def test_a_retry_that_would_come_after_the_validity_is_canceled(
        client: TestClient, db: Database, clock: FrozenClock, simulator: RunningSimulator,
        carrier: TwilioCarrier, reminder: tuple[Practice, int]) -> None:
    practice, message_id = reminder
    clock.set(datetime(2026, 3, 17, 13, 44, 59, tzinfo=UTC))  # one second of validity left
    simulator.configure(fail_next=1, fail_status=503)
    policy = dispatch.DispatchPolicy()
    (job,) = dispatch.claim(db, "test", clock.now(), policy)
    outcome = dispatch.send_one(carrier, job, CALLBACK)
    assert isinstance(outcome, Exception)
    assert dispatch.record_refused(db, job, outcome, clock.now(), policy) == "expired"
    got = client.get(f"/api/v1/messages/{message_id}", headers=practice.auth).json()
    assert (got["status"], got["canceled_reason"]) == ("canceled", "expired_carrier_retry")


def test_a_campaign_text_held_past_its_day_counts_as_expired(
        client: TestClient, db: Database, clock: FrozenClock, carrier: TwilioCarrier,
        simulator: RunningSimulator) -> None:
    practice = make_practice(client)
    patient(client, practice, NY_PHONE)
    clock.set(datetime(2026, 3, 17, 20, 0, tzinfo=UTC))  # 16:00 EDT
    made = campaign(client, practice, body="Hi {first_name}, time for a cleaning.")
    (text,) = campaign_texts(db, made["id"])
    assert text.expires_at == datetime(2026, 3, 18, 4, 0, tzinfo=UTC)  # midnight EDT
    clock.set(datetime(2026, 3, 18, 13, 0, tzinfo=UTC))  # the connector was down all night
    assert send_due(db, carrier, clock) == []
    progress = client.get(f"/api/v1/campaigns/{made['id']}",
                          headers=practice.auth).json()["progress"]
    assert progress["expired"] == 1 and progress["queued"] == 0
    assert progress["canceled_by_reason"] == {"expired_connector_down": 1}
    assert simulator.http.get("/sim/log").json() == []


def test_a_paused_campaign_keeps_no_day_until_it_resumes(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient(client, practice, NY_PHONE)
    clock.set(datetime(2026, 3, 17, 20, 0, tzinfo=UTC))
    made = campaign(client, practice, body="Hi {first_name}, time for a cleaning.")
    assert client.post(f"/api/v1/campaigns/{made['id']}/pause",
                       headers=practice.auth).status_code == 200
    clock.advance(days=3)
    assert dispatch.expire_waiting(db, clock.now()) == 0
    assert client.post(f"/api/v1/campaigns/{made['id']}/resume",
                       headers=practice.auth).status_code == 200
    (text,) = campaign_texts(db, made["id"])
    assert text.status == "pending" and text.expires_at is not None
    assert text.expires_at - clock.now() <= timedelta(days=1, hours=12)
