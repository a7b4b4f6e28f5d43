"""The practice's health (H3): each line green, amber or red with its fix; API and doctor."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.helpers import ADMIN, Practice, make_patient, make_practice
from textdesk.carriers.base import Accepted, CarrierError
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch
from textdesk.practice.health import health
from textdesk.storage.db import Database

POLICY = dispatch.DispatchPolicy()


def lines(db: Database, practice: Practice | int, clock: FrozenClock) -> dict[str, list[Any]]:
    """{check: [(status, message, fix), …]} for one practice."""
    practice_id = practice if isinstance(practice, int) else practice.id
    with db.transaction() as session:
        report = health(session, practice_id, clock.now())
    found: dict[str, list[Any]] = {}
    for line in report.lines:
        found.setdefault(line.check, []).append((line.status.value, line.message, line.fix))
    return found


def beat(db: Database, clock: FrozenClock) -> None:
    dispatch.heartbeat(db, "connector-test", "test-host", clock.now())


def send(client: TestClient, practice: Practice, patient: dict[str, Any],
         body: str = "See you Tuesday.") -> dict[str, Any]:
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": body},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def carrier_accepts_all(db: Database, clock: FrozenClock) -> int:
    """The connector's own recording path, with the carrier's answer "accepted"."""
    jobs = dispatch.claim(db, "connector-test", clock.now(), POLICY)
    dispatch.record_accepted(db, [(j, Accepted(f"SM{j.id:032x}", "queued")) for j in jobs],
                             clock.now())
    return len(jobs)


def carrier_refuses_all(db: Database, clock: FrozenClock, error_code: int) -> int:
    jobs = dispatch.claim(db, "connector-test", clock.now(), POLICY)
    for job in jobs:
        dispatch.record_refused(db, job, CarrierError("refused", error_code=error_code,
                                                      http_status=400), clock.now(), POLICY)
    return len(jobs)


def test_a_new_practice_is_red_where_it_cannot_text(client: TestClient, db: Database,
                                                    clock: FrozenClock) -> None:
    r = client.post("/api/v1/admin/practices", json={"name": "New"}, headers=ADMIN)
    found = lines(db, r.json()["id"], clock)
    assert found["sms_enabled"] == [("red", "Texting is not enabled for this practice.",
                                     "Enable SMS for the practice in Settings.")]
    assert found["sending_number"] == [("red", "The practice has no clinic yet.",
                                        "Add a clinic and its sending number.")]
    assert found["connector"][0][:2] == ("red", "No connector has ever run; texts wait.")
    for check in ("pending", "failure_rate", "refused_sends", "connector_errors"):
        assert found[check][0][0] == "green", check


def test_a_ready_practice_is_green(client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client, limit=100)
    beat(db, clock)
    clock.advance(seconds=3)
    found = lines(db, practice, clock)
    assert {check: [s for s, _, _ in v] for check, v in found.items()} == {
        "sms_enabled": ["green"], "registration": ["green"], "verification": ["green"],
        "connector": ["green"], "connector_errors": ["green"], "pending": ["green"],
        "spend": ["green"], "failure_rate": ["green"], "refused_sends": ["green"]}
    assert found["connector"][0][1] == "The connector is working (last heartbeat 3 s ago)."
    assert found["spend"][0][1] == "Clinic 'Main' spent $0.00 of its $100.00 monthly limit."
    r = client.get("/api/v1/health", headers=practice.auth)
    assert r.status_code == 200 and r.json()["status"] == "green"
    assert set(r.json()["checks"][0]) == {"check", "status", "message", "fix"}


@pytest.mark.parametrize(("registration", "light"), [
    ("approved", "green"), ("pending", "amber"), ("none", "red"), ("rejected", "red")])
def test_registration_of_each_number(client: TestClient, db: Database, clock: FrozenClock,
                                     registration: str, light: str) -> None:
    practice = make_practice(client, approved=False)
    r = client.put(f"/api/v1/admin/numbers/{practice.number_id}/registration",
                   json={"status": registration}, headers=ADMIN)
    assert r.status_code == 200
    (status, message, fix), = lines(db, practice, clock)["registration"]
    assert status == light and practice.number in message
    if light == "red":
        assert message.endswith(f"(registration is {registration}).")
        assert fix == "Finish the 10DLC / toll-free registration of the clinic's number."


def test_a_hosted_landline_waits_for_verification(client: TestClient, db: Database,
                                                  clock: FrozenClock) -> None:
    practice = make_practice(client, kind="hosted_landline")
    (status, message, fix), = lines(db, practice, clock)["verification"]
    assert status == "amber" and "waiting for verification" in message
    assert fix == "Ask the operator to confirm the hosted number."
    client.post(f"/api/v1/admin/numbers/{practice.number_id}/confirm", headers=ADMIN)
    assert lines(db, practice, clock)["verification"][0][0] == "green"


def test_a_clinic_without_a_number_is_red(client: TestClient, db: Database,
                                          clock: FrozenClock) -> None:
    practice = make_practice(client)
    client.post("/api/v1/clinics", json={"name": "Annex"}, headers=practice.auth)
    assert lines(db, practice, clock)["sending_number"] == [
        ("red", "Clinic 'Annex' has no sending number.", "Add a sending number to the clinic.")]


def test_connector_goes_red_when_its_heartbeat_stops(client: TestClient, db: Database,
                                                     clock: FrozenClock) -> None:
    practice = make_practice(client)
    beat(db, clock)
    clock.advance(seconds=15)
    assert lines(db, practice, clock)["connector"][0][0] == "green"
    clock.advance(minutes=3)
    status, message, fix = lines(db, practice, clock)["connector"][0]
    assert (status, message) == ("red", "The connector is down: no heartbeat for 3 min; "
                                        "texts wait.")
    assert "textdesk connector" in fix


def test_unacknowledged_connector_errors_are_amber(client: TestClient, db: Database,
                                                   clock: FrozenClock) -> None:
    practice = make_practice(client)
    send(client, practice, make_patient(client, practice))
    jobs = dispatch.claim(db, "connector-test", clock.now(), POLICY)
    dispatch.record_refused(db, jobs[0], CarrierError("busy", http_status=503, is_transient=True),
                            clock.now(), POLICY)
    status, message, _ = lines(db, practice, clock)["connector_errors"][0]
    assert (status, message) == ("amber", "1 connector error not acknowledged.")
    errors = client.get("/api/v1/connector", headers=practice.auth).json()["errors"]
    client.post(f"/api/v1/connector/errors/{errors[0]['id']}/acknowledge", headers=practice.auth)
    assert lines(db, practice, clock)["connector_errors"][0][0] == "green"


def test_pending_count_and_oldest_age(client: TestClient, db: Database,
                                      clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    first = send(client, practice, patient)
    clock.advance(minutes=1)
    send(client, practice, patient)
    assert lines(db, practice, clock)["pending"][0][:2] == (
        "green", "2 texts waiting to go out; the oldest for 1 min.")
    clock.advance(minutes=9)
    status, message, fix = lines(db, practice, clock)["pending"][0]
    assert (status, message) == ("amber", "2 texts waiting to go out; the oldest for 10 min.")
    assert fix == f"See what holds the oldest (GET /api/v1/messages/{first['id']})."
    clock.advance(hours=2)
    assert lines(db, practice, clock)["pending"][0][:2] == (
        "red", "2 texts waiting to go out; the oldest for 2 h 10 min.")


def test_month_spend_against_the_limit(client: TestClient, db: Database,
                                       clock: FrozenClock) -> None:
    practice = make_practice(client, limit=0.018)  # 2 one-segment texts = 87.8%, 3 = over
    patient = make_patient(client, practice)
    for _ in range(2):
        send(client, practice, patient)
    assert carrier_accepts_all(db, clock) == 2
    status, message, _ = lines(db, practice, clock)["spend"][0]
    assert (status, message) == ("amber", "Clinic 'Main' spent $0.02 of its $0.02 monthly "
                                          "limit (88%).")
    send(client, practice, patient)
    carrier_accepts_all(db, clock)
    status, message, fix = lines(db, practice, clock)["spend"][0]
    assert status == "red" and message.endswith("; manual texts are paused.")
    assert fix == "Raise the clinic's monthly limit, or wait for the next month."


def test_failure_rate_of_the_last_seven_days_by_cause(client: TestClient, db: Database,
                                                      clock: FrozenClock) -> None:
    practice = make_practice(client)
    patients = [make_patient(client, practice, f"(415) 555-01{i:02d}", first_name=f"P{i}")
                for i in range(10)]
    send(client, practice, patients[0])
    assert carrier_refuses_all(db, clock, 21614) == 1
    for patient in patients[1:]:
        send(client, practice, patient)
    assert carrier_accepts_all(db, clock) == 9
    status, message, fix = lines(db, practice, clock)["failure_rate"][0]
    assert status == "red"
    assert message == "1 of 10 texts failed in the last 7 days (10.0%): recipient_landline 1."
    assert fix == "Most failures are recipient_landline: Enter a wireless number."
    clock.advance(days=8)  # out of the window
    assert lines(db, practice, clock)["failure_rate"][0][:2] == (
        "green", "No text failed in the last 7 days (0 texts sent).")


def test_refused_sends_are_recorded_and_reported(client: TestClient, db: Database,
                                                 clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, opted_in=False)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "Hi"},
                    headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "send_blocked"
    status, message, _ = lines(db, practice, clock)["refused_sends"][0]
    assert status == "green" and "not_opted_in 1" in message
    client.patch("/api/v1/practice", json={"sms_enabled": False}, headers=practice.auth)
    client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "Hi"},
                headers=practice.auth)
    status, message, fix = lines(db, practice, clock)["refused_sends"][0]
    assert status == "amber"
    assert message == ("Texts were refused in the last 7 days: not_opted_in 2, "
                       "sms_not_enabled 1.")
    assert fix == "Enable SMS for the practice in Settings."


def test_health_is_scoped_to_the_practice(client: TestClient, db: Database,
                                          clock: FrozenClock) -> None:
    a = make_practice(client, name="A")
    b = make_practice(client, name="B", number="+14155550999")
    send(client, a, make_patient(client, a))
    clock.advance(hours=2)
    assert lines(db, a, clock)["pending"][0][0] == "red"
    assert lines(db, b, clock)["pending"][0][0] == "green"
    assert client.get("/api/v1/health").status_code == 401


def test_doctor_prints_each_line_and_fails_on_red(client: TestClient, db: Database,
                                                  clock: FrozenClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from textdesk.cli import app

    practice = make_practice(client)
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", db.url)
    runner = CliRunner()
    result = runner.invoke(app, ["doctor", "--json"])
    report = json.loads(result.output)
    assert result.exit_code == 1 and report["status"] == "red"  # no connector has run
    connector = next(c for c in report["checks"] if c["check"] == "connector")
    assert connector["status"] == "red"
    dispatch.heartbeat(db, "connector-test", "test-host", datetime.now(UTC))  # doctor: real now
    result = runner.invoke(app, ["doctor", "--practice-id", str(practice.id)])
    assert result.exit_code == 0, result.output
    assert "sms_enabled" in result.output and "green" in result.output
    assert runner.invoke(app, ["doctor", "--practice-id", "999"]).exit_code == 2


def test_doctor_asks_which_practice_when_there_are_several(
        client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from textdesk.cli import app

    make_practice(client, name="A")
    make_practice(client, name="B", number="+14155550999")
    monkeypatch.setenv("TEXTDESK_DATABASE_URL", db.url)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 2 and "--practice-id" in result.output


def test_ages_read_like_a_person_would_say_them() -> None:
    from textdesk.practice.health import _age

    assert [_age(timedelta(seconds=s)) for s in (0, 59, 60, 3600, 3660, 7200, 200_000)] == [
        "0 s", "59 s", "1 min", "1 h", "1 h 1 min", "2 h", "2 days"]
