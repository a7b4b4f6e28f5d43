"""The FHIR R4 adapter against the in-process FHIR server: Patient and Appointment in (paged by
the Bundle's next link, incremental by _lastUpdated), one Communication per text out."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.consent.support import text_in
from tests.helpers import Practice, make_practice
from tests.integrations.conftest import _free_port
from tests.integrations.test_write_back import send_through_carrier
from textdesk.config import Settings
from textdesk.integrations import service, store, sync
from textdesk.integrations.fhir.client import TEXT_ID_SYSTEM
from textdesk.integrations.fhir.simulator import MOUNT_PREFIX, FhirServer, FhirSimulator
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Appointment, Patient

PHONE = "+12125550100"


class ServerClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 2, 14, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at

    def tick(self, seconds: int = 60) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class Fhir:
    sim: FhirSimulator
    base_url: str
    clock: ServerClock

    @property
    def server(self) -> FhirServer:
        return self.sim.server


@pytest.fixture
def fhir() -> Iterator[Fhir]:
    clock = ServerClock()
    sim = FhirSimulator(FhirServer(now=clock))
    app = FastAPI()
    app.include_router(sim.router, prefix=MOUNT_PREFIX)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.02)
    yield Fhir(sim, f"http://127.0.0.1:{port}{MOUNT_PREFIX}", clock)
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def linked(client: TestClient, fhir: Fhir) -> Practice:
    practice = make_practice(client)
    r = client.put("/api/v1/integrations/fhir", headers=practice.auth, json={
        "base_url": fhir.base_url, "token": fhir.server.token})
    assert r.status_code == 200, r.text
    return practice


def run(db: Database, settings: Settings, clock: FrozenClock, practice: Practice,
        tables: bool = True) -> sync.SyncResult:
    return sync.sync_practice(db, practice.id, "fhir", service.opener(settings), clock.now(),
                              tables=tables)


def local(db: Database, practice: Practice, kind: str, external_id: str) -> int:
    with db.transaction() as s:
        return store.seen(s, practice.id, "fhir", kind, [external_id])[external_id].local_id


def count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_patients_and_appointments_come_in_page_by_page_then_only_what_changed(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, fhir: Fhir,
        linked: Practice) -> None:
    server = fhir.server
    patients = [server.add_patient(f"P{i}", "Doe", f"(212) 555-{1000 + i:04d}")
                for i in range(230)]
    landline = server.add_patient("Lan", "Line", "(212) 555-0999", system="phone", use="home")
    mobile = server.add_patient("Mo", "Bile", "(212) 555-0998", system="phone", use="mobile")
    start = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    booked = [server.add_appointment(p["id"], start + timedelta(minutes=30 * i))
              for i, p in enumerate(patients[:120])]
    server.add_appointment(patients[0]["id"], start, status="proposed")  # not booked
    server.add_appointment(patients[1]["id"], start, status="noshow")  # never booked here
    server.put({"resourceType": "Patient", "telecom": "not a list"})  # invalid: left out
    fhir.clock.tick()
    first = run(db, settings, clock, linked)
    assert first.error is None
    assert count(db, Patient) == 232 and count(db, Appointment) == 120
    searches = [path for method, path in server.seen if method == "GET"]
    assert searches.count(f"{MOUNT_PREFIX}/Patient") == 3  # 233 resources, 100 a page
    landline_id, mobile_id = (local(db, linked, "patient", p["id"]) for p in (landline, mobile))
    with db.transaction() as s:
        assert s.get(Patient, landline_id).phone_e164 is None
        assert s.get(Patient, mobile_id).phone_e164 == "+12125550998"

    # Unknown is not consent: a FHIR patient is not texted until consent is recorded.
    pid = local(db, linked, "patient", patients[5]["id"])
    verdict = client.get(f"/api/v1/patients/{pid}/can-text", headers=linked.auth).json()
    assert [b["code"] for b in verdict["blockers"]] == ["not_opted_in"]

    fhir.clock.tick()
    assert run(db, settings, clock, linked).counts["patients"] == 0  # nothing changed
    fhir.clock.tick()
    for p in patients[10:15]:
        server.update("Patient", p["id"], name=[{"family": "Changed", "given": ["X"]}])
    server.update("Appointment", booked[3]["id"], status="cancelled")
    server.update("Appointment", booked[4]["id"], start="2026-03-04T10:00:00-05:00")
    fhir.clock.tick()
    second = run(db, settings, clock, linked)
    assert second.counts["patients"] == 5 and second.counts["appointments"] == 2
    changed = local(db, linked, "patient", patients[12]["id"])
    cancelled, moved = (local(db, linked, "appointment", a["id"]) for a in booked[3:5])
    with db.transaction() as s:
        assert s.get(Patient, changed).last_name == "Changed"
        assert s.get(Appointment, cancelled).status == "cancelled"
        assert s.get(Appointment, moved).start_at == datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def test_each_text_is_one_communication_there_despite_5xx_and_lost_answers(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, fhir: Fhir,
        linked: Practice) -> None:
    ana = fhir.server.add_patient("Ana", "Silva", "(212) 555-0100")
    fhir.clock.tick()
    assert run(db, settings, clock, linked).error is None
    pid = local(db, linked, "patient", ana["id"])
    r = client.post(f"/api/v1/patients/{pid}/consent", headers=linked.auth,
                    json={"action": "opt_in", "scope": "all", "source": "verbal"})
    assert r.status_code == 201, r.text
    send_through_carrier(client, db, clock, linked, pid, "See you soon")
    text_in(client, linked, PHONE, "Thanks, see you")
    fhir.server.fail_next, fhir.server.lose_next = 1, 1
    for _ in range(6):
        run(db, settings, clock, linked, tables=False)
        clock.advance(minutes=31)
    with db.transaction() as s:
        assert store.waiting(s, linked.id, "fhir")[0] == 0
    written = list(fhir.server.resources["Communication"].values())
    assert sorted(c["payload"][0]["contentString"] for c in written) == [
        "Text received: Thanks, see you", "Text sent: See you soon"]
    sent = next(c for c in written if "sent" in c)
    received = next(c for c in written if "received" in c)
    assert sent["recipient"] == [{"reference": f"Patient/{ana['id']}"}]
    assert received["sender"] == {"reference": f"Patient/{ana['id']}"}
    assert all(c["identifier"][0]["system"] == TEXT_ID_SYSTEM for c in written)


def test_the_token_is_sealed_never_shown_and_a_bad_one_says_what_to_do(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, fhir: Fhir,
        linked: Practice) -> None:
    r = client.get("/api/v1/integrations/fhir", headers=linked.auth)
    assert r.status_code == 200 and fhir.server.token not in r.text
    with db.transaction() as s:
        connection = store.get_connection(s, linked.id, "fhir")
        assert connection is not None and fhir.server.token not in (connection.token_sealed
                                                                     or "")
    r = client.put("/api/v1/integrations/fhir", headers=linked.auth,
                   json={"base_url": fhir.base_url, "token": "wrong"})
    assert r.status_code == 200
    result = run(db, settings, clock, linked)
    assert result.error is not None and result.error.kind == "bad_key"
    body = client.get("/api/v1/integrations/fhir", headers=linked.auth).json()
    assert body["status"] == "failing" and "token" in body["last_error"]["fix"]
    bad = client.put("/api/v1/integrations/fhir", headers=linked.auth,
                     json={"base_url": "ftp://x", "token": "t"})
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_base_url"


def test_connecting_fhir_switches_open_dental_off(client: TestClient, fhir: Fhir) -> None:
    practice = make_practice(client)
    r = client.put("/api/v1/integrations/opendental", headers=practice.auth, json={
        "base_url": "http://127.0.0.1:9/od", "developer_key": "d", "customer_key": "c"})
    assert r.status_code == 200
    client.put("/api/v1/integrations/fhir", headers=practice.auth,
               json={"base_url": fhir.base_url, "token": fhir.server.token})
    assert client.get("/api/v1/integrations/opendental",
                      headers=practice.auth).json()["status"] == "off"
    assert client.get("/api/v1/integrations/fhir",
                      headers=practice.auth).json()["status"] == "not_synced_yet"
