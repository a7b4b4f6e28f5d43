"""Sync from the simulated Open Dental office: full import, incremental, schedule, Text OK."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.helpers import Practice
from tests.integrations.conftest import SECRET, Served, run_sync
from textdesk.config import Settings
from textdesk.integrations import store
from textdesk.integrations.opendental.office import fill
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Appointment, ExternalRecord, Patient

PATIENTS, APPOINTMENTS = 2_000, 4_000


def count(db: Database, model: type) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def local_id(db: Database, practice: Practice, kind: str, external_id: int) -> int:
    with db.transaction() as s:
        found = store.records(s, practice.id, "opendental", kind, [str(external_id)])
        return found[str(external_id)].local_id


def test_a_large_office_syncs_in_full_then_only_what_changed(
        db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    fill(od.office, PATIENTS, APPOINTMENTS, start=datetime(2026, 3, 3))
    od.clock.tick()  # the office's data was entered before the sync's own second
    first = run_sync(db, settings, clock, connected)
    assert first.error is None
    assert first.counts["patients"] == PATIENTS and first.counts["appointments"] == APPOINTMENTS
    assert count(db, Patient) == PATIENTS
    assert count(db, Appointment) == APPOINTMENTS
    # Again with nothing changed: nothing new is read beyond the cursor's own second.
    od.clock.tick()
    assert run_sync(db, settings, clock, connected).counts == {
        "patients": 0, "appointments": 0, "deleted": 0, "written_back": 0}
    od.clock.tick()
    for pat_num in range(1, 61):
        od.office.update_patient(pat_num, LName="Changed")
    for apt_num in range(1, 41):
        od.office.update_appointment(apt_num, ProvNum=9, provAbbr="DOC9")
    second = run_sync(db, settings, clock, connected)
    assert second.counts["patients"] == 60 and second.counts["appointments"] == 40
    assert count(db, Patient) == PATIENTS  # upserts, not repeats
    patient_id = local_id(db, connected, "patient", 7)
    appointment_id = local_id(db, connected, "appointment", 3)
    with db.transaction() as s:
        assert s.get(Patient, patient_id).last_name == "Changed"
        assert s.get(Appointment, appointment_id).provider == "DOC9"


def test_the_schedule_there_wins(client: TestClient, db: Database, settings: Settings,
                                 clock: FrozenClock, od: Served, connected: Practice) -> None:
    pat = od.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes")
    moved = od.office.add_appointment(pat["PatNum"], datetime(2026, 3, 5, 9, 0))
    broken = od.office.add_appointment(pat["PatNum"], datetime(2026, 3, 6, 9, 0))
    planned = od.office.add_appointment(pat["PatNum"], datetime(2026, 3, 7, 9, 0),
                                        status="Planned")
    od.clock.tick()
    run_sync(db, settings, clock, connected)
    assert count(db, Appointment) == 2  # a Planned appointment is not a visit
    od.clock.tick()
    od.office.update_appointment(moved["AptNum"], AptDateTime=datetime(2026, 3, 5, 14, 30))
    od.office.update_appointment(broken["AptNum"], AptStatus="Broken")
    od.office.confirm(planned["AptNum"], 24)
    run_sync(db, settings, clock, connected)
    moved_id = local_id(db, connected, "appointment", moved["AptNum"])
    broken_id = local_id(db, connected, "appointment", broken["AptNum"])
    with db.transaction() as s:
        a, b = s.get(Appointment, moved_id), s.get(Appointment, broken_id)
        # 14:30 in New York (EST in March before the switch) is 19:30 UTC.
        assert a.start_at.isoformat() == "2026-03-05T19:30:00+00:00"
        assert b.status == "cancelled"
    # Deleted there: no DateTStamp says so; the hourly look at the schedule does.
    od.office.delete_appointment(moved["AptNum"])
    run_sync(db, settings, clock, connected)
    with db.transaction() as s:
        assert s.get(Appointment, moved_id).status == "scheduled"  # checked under an hour ago
    clock.advance(minutes=61)
    assert run_sync(db, settings, clock, connected).counts["deleted"] == 1
    with db.transaction() as s:
        assert s.get(Appointment, moved_id).status == "cancelled"


def test_text_ok_no_there_blocks_texting_here_within_one_sync(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    yes = od.office.add_patient("Ben", "Kim", "(212) 555-0101", txt_msg_ok="Yes")
    unknown = od.office.add_patient("Cy", "Berg", "(212) 555-0102", txt_msg_ok="Unknown")
    run_sync(db, settings, clock, connected)

    def can_text(pat_num: int) -> dict:
        pid = local_id(db, connected, "patient", pat_num)
        r = client.get(f"/api/v1/patients/{pid}/can-text", headers=connected.auth)
        return r.json()  # type: ignore[no-any-return]
    assert can_text(yes["PatNum"])["can_text"] is True  # Yes: the office recorded consent
    blockers = [b["code"] for b in can_text(unknown["PatNum"])["blockers"]]
    assert blockers == ["not_opted_in"]  # Unknown is not consent
    od.clock.tick()
    od.office.update_patient(yes["PatNum"], TxtMsgOk="No")
    run_sync(db, settings, clock, connected)
    verdict = can_text(yes["PatNum"])
    assert verdict["can_text"] is False
    assert [b["code"] for b in verdict["blockers"]] == ["opted_out"]
    pid = local_id(db, connected, "patient", yes["PatNum"])
    history = client.get(f"/api/v1/patients/{pid}/consent", headers=connected.auth).json()
    assert history["history"][-1]["source"] == "practice_system"
    # The opt-out is not echoed back as a write-back of what Open Dental told us.
    with db.transaction() as s:
        assert store.waiting(s, connected.id, "opendental")[0] == 0


def test_keys_are_sealed_and_never_shown(client: TestClient, db: Database, od: Served,
                                         connected: Practice) -> None:
    r = client.get("/api/v1/integrations/opendental", headers=connected.auth)
    assert r.status_code == 200
    body = r.text
    assert od.office.customer_key not in body and od.office.developer_key not in body
    assert "key" not in r.json() and r.json()["status"] == "not_synced_yet"
    with db.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(text("SELECT * FROM system_connections"))
                        for v in row)
    assert od.office.customer_key not in dump and od.office.developer_key not in dump
    assert SECRET not in dump


def test_bad_input_is_a_4xx_and_changes_nothing(client: TestClient, connected: Practice) -> None:
    r = client.put("/api/v1/integrations/opendental", headers=connected.auth, json={
        "base_url": "ftp://office", "developer_key": "a", "customer_key": "b"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_base_url"
    assert client.get("/api/v1/integrations/opendental",
                      headers=connected.auth).json()["base_url"].startswith("http://127.0.0.1")


def test_a_bad_key_and_an_unreachable_office_say_what_to_do(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    od.office.customer_key = "rotated-by-the-office"
    result = run_sync(db, settings, clock, connected)
    assert result.error is not None and result.error.kind == "bad_key"
    status = client.get("/api/v1/integrations/opendental", headers=connected.auth).json()
    assert status["status"] == "failing" and status["last_error"]["kind"] == "bad_key"
    assert "customer key" in status["last_error"]["fix"]
    client.put("/api/v1/integrations/opendental", headers=connected.auth, json={
        "base_url": "http://127.0.0.1:9", "developer_key": "d", "customer_key": "c"})
    run_sync(db, settings, clock, connected)
    health = client.get("/api/v1/health", headers=connected.auth).json()
    [line] = [c for c in health["checks"] if c["check"] == "practice_system"]
    assert line["status"] == "amber" and "eConnector" in line["fix"]


def test_one_practice_is_synced_by_one_connector_at_a_time(
        db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    with db.transaction() as s:
        assert store.take_lease(s, connected.id, "opendental", "other-connector", clock.now(),
                                clock.now() + timedelta(minutes=10))
    assert run_sync(db, settings, clock, connected).ran is False
    clock.advance(minutes=11)  # the other connector died: its lease runs out
    assert run_sync(db, settings, clock, connected).ran is True
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(ExternalRecord)) == 0


def test_two_connectors_at_once_one_syncs(db: Database, settings: Settings,
                                          clock: FrozenClock, od: Served,
                                          connected: Practice) -> None:
    import threading

    od.office.add_patient("Ana", "Silva", "(212) 555-0100")
    od.sim.faults.delay_seconds = 0.3  # the first one is still reading when the second starts
    results: list[bool] = []

    def connector() -> None:
        results.append(run_sync(db, settings, clock, connected).ran)
    threads = [threading.Thread(target=connector) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == [False, True]
    assert count(db, Patient) == 1
