"""Write-back to the simulated office: each text once as a commlog whatever the network does,
a confirmation by reply sets Confirmed there, a STOP sets Text OK = No there."""

from __future__ import annotations

import time
from datetime import datetime

from fastapi.testclient import TestClient

from tests.automation.support import beat, claim, template
from tests.automation.test_reminders import rule
from tests.consent.support import text_in
from tests.helpers import Practice, make_patient, make_practice
from tests.integrations.conftest import Served, run_sync
from textdesk.carriers.base import Accepted
from textdesk.config import Settings
from textdesk.integrations import store
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch
from textdesk.storage.db import Database

PHONE = "+12125550100"
ASK = "Hi {first_name}, please confirm {appt_date} at {appt_time}: reply C or tap {confirm_link}"


def imported(db: Database, settings: Settings, clock: FrozenClock, od: Served,
             practice: Practice) -> tuple[int, int]:
    """A patient with Text OK = Yes, synced; (PatNum, textdesk patient id)."""
    pat = od.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes")
    od.clock.tick()
    assert run_sync(db, settings, clock, practice).error is None
    with db.transaction() as s:
        record = store.records(s, practice.id, "opendental", "patient", [str(pat["PatNum"])])
    return pat["PatNum"], record[str(pat["PatNum"])].local_id


def send_through_carrier(client: TestClient, db: Database, clock: FrozenClock,
                         practice: Practice, patient_id: int, body: str) -> None:
    r = client.post("/api/v1/messages", json={"patient_id": patient_id, "body": body},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    beat(db, clock)
    jobs = claim(db, clock)
    dispatch.record_accepted(db, [(job, Accepted(f"SM{job.id:032d}", "queued"))
                                  for job in jobs], clock.now())


def commlog_notes(od: Served, pat_num: int) -> list[str]:
    return sorted(c["Note"] for c in od.office.commlogs.values() if c["PatNum"] == pat_num)


def write_back_until_done(db: Database, settings: Settings, clock: FrozenClock,
                          practice: Practice, tries: int = 12) -> int:
    for _ in range(tries):
        run_sync(db, settings, clock, practice, tables=False, timeout=0.5)
        with db.transaction() as s:
            if store.waiting(s, practice.id, "opendental")[0] == 0:
                return 0
        clock.advance(minutes=31)  # past the longest backoff
    with db.transaction() as s:
        return store.waiting(s, practice.id, "opendental")[0]


def test_each_text_is_one_commlog_there_despite_5xx_lost_answers_and_timeouts(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    pat_num, patient_id = imported(db, settings, clock, od, connected)
    send_through_carrier(client, db, clock, connected, patient_id, "See you soon")
    text_in(client, connected, PHONE, "Thanks, see you")
    od.sim.faults.only_path = "/commlogs"
    od.sim.faults.fail_next = 2  # refused twice before doing anything
    od.sim.faults.lose_next = 1  # then written, but the answer is lost
    assert write_back_until_done(db, settings, clock, connected) == 0
    assert commlog_notes(od, pat_num) == ["Text received: Thanks, see you",
                                          "Text sent: See you soon"]
    sent = [c for c in od.office.commlogs.values() if c["Note"].startswith("Text sent")][0]
    assert sent["Mode_"] == "Text" and sent["SentOrReceived"] == "Sent"
    # A timeout: Open Dental takes the text after we stopped waiting.
    od.sim.faults.fail_next = od.sim.faults.lose_next = 0
    od.sim.faults.slow_next, od.sim.faults.slow_seconds = 1, 1.0
    send_through_carrier(client, db, clock, connected, patient_id, "One more")
    result = run_sync(db, settings, clock, connected, tables=False, timeout=0.3)
    assert result.error is not None and result.error.kind == "unreachable"
    deadline = time.monotonic() + 5
    while len(od.office.commlogs) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert write_back_until_done(db, settings, clock, connected) == 0
    assert commlog_notes(od, pat_num).count("Text sent: One more") == 1
    assert len(od.office.commlogs) == 3


def test_a_confirmation_by_reply_sets_confirmed_there(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    from textdesk.automation import reminders

    pat = od.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes")
    apt = od.office.add_appointment(pat["PatNum"], datetime(2026, 3, 3, 10, 0))
    od.clock.tick()
    rule(client, connected, template(client, connected, ASK, "confirmation"), lead="2d")
    run_sync(db, settings, clock, connected)
    reminders.run(db, clock.now())
    text_in(client, connected, PHONE, "C")
    assert od.office.appointments[apt["AptNum"]]["confirmed"] == "Not Called"
    od.sim.faults.fail_next = 1
    assert write_back_until_done(db, settings, clock, connected) == 0
    assert od.office.appointments[apt["AptNum"]]["confirmed"] == "Confirmed"


def test_stop_sets_text_ok_no_there_and_start_yes(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    pat_num, _patient_id = imported(db, settings, clock, od, connected)
    text_in(client, connected, PHONE, "STOP")
    assert write_back_until_done(db, settings, clock, connected) == 0
    assert od.office.patients[pat_num]["TxtMsgOk"] == "No"
    # Reading back Open Dental's No (its own stamp) does not make a second opt-out.
    od.clock.tick()
    run_sync(db, settings, clock, connected)
    text_in(client, connected, PHONE, "START")
    assert write_back_until_done(db, settings, clock, connected) == 0
    assert od.office.patients[pat_num]["TxtMsgOk"] == "Yes"
    status = client.get("/api/v1/integrations/opendental", headers=connected.auth).json()
    assert status["write_back_waiting"] == 0 and status["status"] == "ok"


def test_write_back_behind_shows_on_health_with_its_fix(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    _pat_num, patient_id = imported(db, settings, clock, od, connected)
    send_through_carrier(client, db, clock, connected, patient_id, "Hello")
    od.sim.faults.fail_next = 1000  # the office's service is down
    clock.advance(minutes=16)
    run_sync(db, settings, clock, connected, tables=False)
    health = client.get("/api/v1/health", headers=connected.auth).json()
    [line] = [c for c in health["checks"] if c["check"] == "practice_system"]
    assert line["status"] == "amber"
    status = client.get("/api/v1/integrations/opendental", headers=connected.auth).json()
    assert status["write_back_waiting"] == 1 and status["write_back_behind"] is True
    assert status["last_error"]["kind"] == "server_error"
    od.sim.faults.fail_next = 0
    clock.advance(minutes=31)
    run_sync(db, settings, clock, connected, tables=False)
    status = client.get("/api/v1/integrations/opendental", headers=connected.auth).json()
    assert status["write_back_waiting"] == 0 and status["last_error"] is None


def test_the_connector_job_syncs_when_due_and_retries_only_when_due(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    from tests.integrations.conftest import quick_opener
    from textdesk.integrations import service

    od.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes")
    od.clock.tick()
    opener = quick_opener(settings)
    assert service.run(db, clock.now(), settings, opener) == 1  # due at once: one patient
    assert service.run(db, clock.now(), settings, opener) == 0  # next sync in 5 minutes
    text_in(client, connected, PHONE, "Hello")
    od.sim.faults.fail_next = 1000
    service.run(db, clock.now(), settings, opener)
    calls = len(od.sim.faults.seen)
    clock.advance(seconds=10)  # inside the backoff: the office is not asked again
    service.run(db, clock.now(), settings, opener)
    assert len(od.sim.faults.seen) == calls
    status = client.get("/api/v1/integrations/opendental", headers=connected.auth).json()
    assert status["last_error"]["kind"] == "server_error"


def test_one_recorded_batch_writes_back_only_for_the_practice_with_a_system(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    """The connector records many practices' texts at once; each text's commlog goes to its
    own practice's system, and nowhere for a practice with none."""
    _, patient_id = imported(db, settings, clock, od, connected)
    plain = make_practice(client, name="No System Dental", number="+15005550007")
    other = make_patient(client, plain, "(212) 555-0199")
    for practice, patient, body in ((connected, patient_id, "From the connected one"),
                                    (plain, other["id"], "From the plain one")):
        r = client.post("/api/v1/messages", json={"patient_id": patient, "body": body},
                        headers=practice.auth)
        assert r.status_code == 201, r.text
    beat(db, clock)
    jobs = claim(db, clock)
    assert {job.practice_id for job in jobs} == {connected.id, plain.id}
    dispatch.record_accepted(db, [(job, Accepted(f"SM{job.id:032d}", "queued"))
                                  for job in jobs], clock.now())
    with db.transaction() as s:
        assert store.waiting(s, connected.id, "opendental")[0] == 1
        assert store.waiting(s, plain.id, "opendental")[0] == 0
        assert store.enabled_systems(s, [connected.id, plain.id]) == {connected.id: "opendental"}
