"""Event webhooks over real HTTP: a practice's integration subscribes, then a lead is texted and
answers, books, a patient confirms and texts STOP — the live connector delivers every event,
signed, to a receiver that verifies each one. Without `include_bodies` no body or phone leaves.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_database
from tests.e2e.conftest import LiveServer, start_live_server, stop_live_server
from tests.helpers import Practice
from tests.webhooks.conftest import ALL_EVENTS, SECRET_KEY
from tests.webhooks.receiver import Receiver

LEAD_PHONE = "+14155550177"
PATIENT_PHONE = "+14155550123"
SECRET_WORDS = ("Thursday morning works", "Hi Lee, this is Main", "Pat, your cleaning")


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    db = fresh_database(tmp_path)
    server_live, server = start_live_server(db, secret_key=SECRET_KEY)
    try:
        yield server_live
    finally:
        stop_live_server(server_live, server)
        db.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


def _subscribe(live: LiveServer, practice: Practice, receiver: Receiver, path: str,
               include_bodies: bool) -> None:
    r = live.http.post("/api/v1/webhook-endpoints", headers=practice.auth, json={
        "url": receiver.url(path), "events": ALL_EVENTS, "include_bodies": include_bodies})
    assert r.status_code == 201, r.text
    receiver.expect(path, r.json()["secret"])


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def _texted_in(live: LiveServer, practice: Practice, phone: str, body: str) -> None:
    _ok(live.sim("POST", "/sim/inbound", json={"from": phone, "to": practice.number,
                                               "body": body}))


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["data"] for e in events if e["type"] == kind]


def test_an_integration_hears_every_event_signed_and_only_ids_unless_asked(
        live: LiveServer, receiver: Receiver) -> None:
    practice = live.practice()
    auth = practice.auth
    _subscribe(live, practice, receiver, "/ids", include_bodies=False)
    _subscribe(live, practice, receiver, "/bodies", include_bodies=True)

    lead = _ok(live.http.post("/api/v1/leads", headers=auth, json={
        "first_name": "Lee", "last_name": "Ray", "phone": LEAD_PHONE,
        "clinic_id": practice.clinic_id, "source": "web_form"}), 201)
    _ok(live.http.post(f"/api/v1/leads/{lead['id']}/consent", headers=auth,
                       json={"action": "opt_in", "scope": "all", "source": "web_form"}), 201)
    sent = _ok(live.http.post("/api/v1/messages", headers=auth, json={
        "lead_id": lead["id"], "body": "Hi Lee, this is Main. When suits?"}), 201)
    live.wait_status(practice, sent["id"], "delivered")
    _texted_in(live, practice, LEAD_PHONE, "Thursday morning works for me")

    patient = live.patient(practice, PATIENT_PHONE)  # opted in through the API
    start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    booked = _ok(live.http.post("/api/v1/appointments", headers=auth, json={
        "patient_id": patient["id"], "clinic_id": practice.clinic_id, "start": start}), 201)
    _ok(live.http.patch(f"/api/v1/appointments/{booked['id']}", headers=auth,
                        json={"status": "confirmed"}))
    reminder = _ok(live.http.post("/api/v1/messages", headers=auth, json={
        "patient_id": patient["id"], "body": "Pat, your cleaning is on Thursday."}), 201)
    live.wait_status(practice, reminder["id"], "delivered")
    _texted_in(live, practice, PATIENT_PHONE, "STOP")

    want = Counter({"message.status_changed": 4, "message.received": 2,
                    "consent.changed": 3, "lead.stage_changed": 2,
                    "appointment.confirmed": 1})
    for path in ("/ids", "/bodies"):
        live.wait_for(lambda p=path: Counter(receiver.types(p)) >= want, timeout=20,
                      what=f"every event at {path}")
    assert receiver.bad_signatures == 0
    plain, full = receiver.events("/ids"), receiver.events("/bodies")

    statuses = [(d["message_id"], d["status"]) for d in _of(plain, "message.status_changed")]
    assert {(sent["id"], "sent"), (sent["id"], "delivered"), (reminder["id"], "sent"),
            (reminder["id"], "delivered")} <= set(statuses)
    stages = [(d["lead_id"], d["previous_stage"], d["stage"])
              for d in _of(plain, "lead.stage_changed")]
    assert stages[:2] == [(lead["id"], "new", "contacted"), (lead["id"], "contacted", "engaged")]
    [confirmed] = _of(plain, "appointment.confirmed")
    assert (confirmed["appointment_id"], confirmed["patient_id"], confirmed["via"]) == (
        booked["id"], patient["id"], "update")
    consents = _of(plain, "consent.changed")
    assert [(c["action"], c["source"]) for c in consents] == [
        ("opt_in", "web_form"), ("opt_in", "verbal"), ("opt_out", "keyword")]
    assert consents[-1]["patient_ids"] == [patient["id"]]
    assert consents[-1]["state"] == "opted_out"
    received = _of(plain, "message.received")
    assert [r["lead_id"] for r in received][:1] == [lead["id"]]
    assert received[-1]["patient_id"] == patient["id"]

    # Ids and statuses only: no body, no phone, no note leaves without include_bodies.
    dumped = json.dumps(plain)
    for secret in (*SECRET_WORDS, "STOP", LEAD_PHONE, PATIENT_PHONE, "5550177", "5550123"):
        assert secret not in dumped
    asked = _of(full, "message.received")
    assert asked[0]["body"] == "Thursday morning works for me"
    assert asked[0]["from"] == LEAD_PHONE and asked[-1]["body"] == "STOP"
    assert _of(full, "consent.changed")[-1]["phone"] == PATIENT_PHONE
    assert "Hi Lee, this is Main. When suits?" in {
        d["body"] for d in _of(full, "message.status_changed")}
