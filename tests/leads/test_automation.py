"""Lead automation with the clock moved: bookings win leads (D4), silence loses them, the
connector's scheduler runs it, and running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.consent.support import messages_with, text_in
from tests.helpers import Practice, make_patient, make_practice
from tests.leads.support import (
    LEAD_PHONE,
    history,
    lead_row,
    make_lead,
    set_stage,
    text_lead,
)
from textdesk.appointments import store as appointment_store
from textdesk.connector.scheduler import JOBS, PeriodicJob, Scheduler
from textdesk.kit.clock import FrozenClock
from textdesk.leads import automation as lead_automation
from textdesk.storage.db import Database
from textdesk.storage.models import Appointment, Commlog


def book(client: TestClient, practice: Practice, clock: FrozenClock, *,
         in_days: float = 3, **who: Any) -> dict[str, Any]:
    start = (clock.now() + timedelta(days=in_days)).isoformat()
    r = client.post("/api/v1/appointments", json={"start": start, "provider": "Dr. Kim", **who},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def settings(client: TestClient, practice: Practice, **values: int) -> None:
    r = client.patch("/api/v1/leads/settings", json=values, headers=practice.auth)
    assert r.status_code == 200, r.text


# --- bookings --------------------------------------------------------------------------------

def test_booking_a_lead_wins_it_and_makes_it_a_patient(client: TestClient, db: Database,
                                                       clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    sent = text_lead(client, practice, lead["id"]).json()
    clock.advance(days=1)
    text_in(client, practice, LEAD_PHONE, "Can I come Thursday?")
    clock.advance(hours=2)
    appointment = book(client, practice, clock, lead_id=lead["id"])
    row = lead_row(db, practice.id, lead["id"])
    assert row.stage == "closed_won" and row.patient_id == appointment["patient_id"]
    change = history(db, practice.id, lead["id"])[-1]
    assert (change.from_stage, change.changed_by) == ("engaged", "automation")
    assert f"appointment #{appointment['id']}" in change.reason and change.at == clock.now()
    patient = client.get(f"/api/v1/patients/{row.patient_id}", headers=practice.auth).json()
    assert (patient["first_name"], patient["phone"]) == ("Lee", LEAD_PHONE)
    # Its conversation and consent came along.
    thread = client.get(f"/api/v1/patients/{row.patient_id}/messages",
                        headers=practice.auth).json()
    assert [m["direction"] for m in thread] == ["outbound", "inbound"]
    assert thread[0]["id"] == sent["id"]
    with db.transaction() as s:
        logs = s.query(Commlog).filter(Commlog.patient_id == row.patient_id).count()
    assert logs == 2
    verdict = client.get(f"/api/v1/patients/{row.patient_id}/can-text",
                         headers=practice.auth).json()
    assert verdict["can_text"] is True


def test_booking_an_existing_patient_links_and_wins_the_lead(client: TestClient, db: Database,
                                                             clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, "(415) 555-0177")
    lead = make_lead(client, practice)
    appointment = book(client, practice, clock, patient_id=patient["id"])
    row = lead_row(db, practice.id, lead["id"])
    assert appointment["lead_id"] == lead["id"] and row.patient_id == patient["id"]
    assert row.stage == "closed_won"
    r = client.get("/api/v1/patients", headers=practice.auth).json()
    assert [p["id"] for p in r] == [patient["id"]]  # no second patient for the same person


def test_booking_outside_the_window_schedules_and_a_cancellation_reopens(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    settings(client, practice, lead_inactivity_days=90)
    lead = make_lead(client, practice)
    set_stage(client, practice, lead["id"], "engaged")
    clock.advance(days=31)  # booked 31 days after the lead came in: not a win
    appointment = book(client, practice, clock, lead_id=lead["id"])
    assert lead_row(db, practice.id, lead["id"]).stage == "scheduled"
    assert lead_automation.run(db, clock.now()) == 0  # the job agrees
    r = client.post(f"/api/v1/appointments/{appointment['id']}/cancel", headers=practice.auth)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert lead_row(db, practice.id, lead["id"]).stage == "engaged"
    change = history(db, practice.id, lead["id"])[-1]
    assert (change.from_stage, change.to_stage, change.changed_by) == \
        ("scheduled", "engaged", "automation")
    # Twice is once: no second change.
    assert client.post(f"/api/v1/appointments/{appointment['id']}/cancel",
                       headers=practice.auth).status_code == 200
    assert len(history(db, practice.id, lead["id"])) == 4


def test_a_booking_made_elsewhere_is_found_by_the_job(client: TestClient, db: Database,
                                                      clock: FrozenClock) -> None:
    """An appointment written without the booking use case (e.g. an import) still wins."""
    practice = make_practice(client)
    lead = make_lead(client, practice)
    clock.advance(days=5)
    patient = make_patient(client, practice, "+1 (415) 555-0177")
    with db.transaction() as s:
        appointment_store.add(s, Appointment(
            practice_id=practice.id, clinic_id=practice.clinic_id, patient_id=patient["id"],
            start_at=clock.now() + timedelta(days=40), provider="", status="scheduled",
            created_at=clock.now(), updated_at=clock.now()))
    assert lead_row(db, practice.id, lead["id"]).stage == "new"
    assert lead_automation.run(db, clock.now()) == 1
    row = lead_row(db, practice.id, lead["id"])
    assert row.stage == "closed_won" and row.patient_id == patient["id"]
    assert lead_automation.run(db, clock.now()) == 0  # idempotent
    assert len(history(db, practice.id, lead["id"])) == 2


# --- inactivity --------------------------------------------------------------------------------

def test_no_activity_for_the_window_closes_the_lead_lost(client: TestClient, db: Database,
                                                         clock: FrozenClock) -> None:
    practice = make_practice(client)
    quiet = make_lead(client, practice)
    talking = make_lead(client, practice, "(415) 555-0178")
    text_lead(client, practice, talking["id"])
    clock.advance(days=10)
    text_in(client, practice, "+14155550178", "Still thinking about it")  # activity
    clock.advance(days=4, hours=23)
    assert lead_automation.run(db, clock.now()) == 0
    clock.advance(hours=1)  # 15 days since the quiet lead came in
    assert lead_automation.run(db, clock.now()) == 1
    assert lead_row(db, practice.id, quiet["id"]).stage == "closed_lost"
    assert lead_row(db, practice.id, talking["id"]).stage == "engaged"
    change = history(db, practice.id, quiet["id"])[-1]
    assert (change.changed_by, change.reason) == ("automation", "no activity for 15 days")
    assert lead_automation.run(db, clock.now()) == 0  # idempotent
    assert len(history(db, practice.id, quiet["id"])) == 2
    clock.advance(days=10)  # 15 days since the talking lead's last reply
    assert lead_automation.run(db, clock.now()) == 1
    assert lead_row(db, practice.id, talking["id"]).stage == "closed_lost"


@pytest.mark.parametrize("stage", ["scheduled", "closed_won"])
def test_inactive_stages_are_not_lost_for_silence(client: TestClient, db: Database,
                                                  clock: FrozenClock, stage: str) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    set_stage(client, practice, lead["id"], stage)
    clock.advance(days=60)
    assert lead_automation.run(db, clock.now()) == 0
    assert lead_row(db, practice.id, lead["id"]).stage == stage


def test_the_inactivity_window_is_a_practice_setting(client: TestClient, db: Database,
                                                     clock: FrozenClock) -> None:
    practice = make_practice(client)
    other = make_practice(client, name="Other", number="+14155550999")
    settings(client, practice, lead_inactivity_days=3)
    mine = make_lead(client, practice)
    theirs = make_lead(client, other)
    clock.advance(days=3)
    assert lead_automation.run(db, clock.now()) == 1
    assert lead_row(db, practice.id, mine["id"]).stage == "closed_lost"
    assert lead_row(db, other.id, theirs["id"]).stage == "new"


# --- the scheduler ---------------------------------------------------------------------------

def test_the_connector_scheduler_runs_lead_automation(client: TestClient, db: Database,
                                                      clock: FrozenClock) -> None:
    assert "lead_automation" in [job.name for job in JOBS]
    practice = make_practice(client)
    lead = make_lead(client, practice)
    scheduler = Scheduler(db, clock)
    assert scheduler.run_due()["lead_automation"] == 0
    clock.advance(days=15)
    assert scheduler.run_due()["lead_automation"] == 1
    assert lead_row(db, practice.id, lead["id"]).stage == "closed_lost"


def test_the_scheduler_paces_each_job_and_survives_a_failing_one(db: Database,
                                                                 clock: FrozenClock) -> None:
    runs: list[str] = []

    def broken(_db: Database, _now: Any) -> int:
        runs.append("broken")
        raise RuntimeError("boom")

    def counting(_db: Database, _now: Any) -> int:
        runs.append("counting")
        return 1

    scheduler = Scheduler(db, clock, jobs=[PeriodicJob("broken", timedelta(minutes=1), broken),
                                           PeriodicJob("counting", timedelta(minutes=5),
                                                       counting)])
    assert scheduler.run_due() == {"counting": 1}
    assert scheduler.run_due() == {}  # nothing due yet
    clock.advance(minutes=1)
    scheduler.run_due()
    clock.advance(minutes=4)
    assert scheduler.run_due() == {"counting": 1}
    assert runs == ["broken", "counting", "broken", "broken", "counting"]


def test_the_redirect_is_a_system_text_from_the_clinic_number(client: TestClient,
                                                              db: Database,
                                                              clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    book(client, practice, clock, lead_id=lead["id"])
    text_in(client, practice, LEAD_PHONE, "thanks!")
    [answer] = messages_with(db, practice.id, LEAD_PHONE, direction="outbound")
    assert (answer.kind, answer.from_e164, answer.created_by) == \
        ("system", practice.number, "auto:lead_redirect")
    assert answer.patient_id == lead_row(db, practice.id, lead["id"]).patient_id


@pytest.mark.parametrize("first_name, same_patient", [("LEE", True), ("Sam", False)])
def test_a_shared_phone_alone_does_not_make_the_lead_that_patient(
        client: TestClient, db: Database, clock: FrozenClock, first_name: str,
        same_patient: bool) -> None:
    practice = make_practice(client)
    family = make_patient(client, practice, "(415) 555-0177", first_name=first_name)
    lead = make_lead(client, practice)
    appointment = book(client, practice, clock, lead_id=lead["id"])
    assert (appointment["patient_id"] == family["id"]) is same_patient
    patients = client.get("/api/v1/patients", headers=practice.auth).json()
    assert len(patients) == (1 if same_patient else 2)
    booked = next(p for p in patients if p["id"] == appointment["patient_id"])
    assert booked["phone"] == LEAD_PHONE and booked["first_name"].casefold() == "lee"
