"""Open Dental's ClinicNum → textdesk clinics: an appointment of clinic 2 is reminded from
clinic 2's number."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.automation.support import template
from tests.helpers import ADMIN, Practice
from tests.integrations.conftest import Served, run_sync
from tests.integrations.test_sync import local_id
from textdesk.automation import reminders
from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Appointment, Message, Patient, ReminderSend

NORTH_NUMBER = "+15005550007"


def north_clinic(client: TestClient, practice: Practice) -> tuple[int, int]:
    clinic = client.post("/api/v1/clinics", json={"name": "North", "phone": "+14155550199"},
                         headers=practice.auth)
    assert clinic.status_code == 201, clinic.text
    number = client.post(f"/api/v1/clinics/{clinic.json()['id']}/numbers",
                         json={"e164": NORTH_NUMBER, "kind": "local"}, headers=practice.auth)
    assert number.status_code == 201, number.text
    r = client.put(f"/api/v1/admin/numbers/{number.json()['id']}/registration",
                   json={"status": "approved"}, headers=ADMIN)
    assert r.status_code == 200
    return int(clinic.json()["id"]), int(number.json()["id"])


def test_an_appointment_in_clinic_2_is_reminded_from_clinic_2s_number(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        connected: Practice) -> None:
    north, north_number = north_clinic(client, connected)
    r = client.put("/api/v1/integrations/opendental", headers=connected.auth, json={
        "base_url": od.base_url, "developer_key": od.office.developer_key,
        "customer_key": od.office.customer_key, "clinics": {"2": north}})
    assert r.status_code == 200, r.text
    assert r.json()["clinics"] == {"2": north}
    ana = od.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes",
                                clinic_num=2)
    ben = od.office.add_patient("Ben", "Kim", "(212) 555-0101", txt_msg_ok="Yes")
    # Ana is a patient of clinic 2, Ben of none (ClinicNum 0): his visit is booked at clinic 2.
    at_north = od.office.add_appointment(ana["PatNum"], datetime(2026, 3, 3, 10, 0),
                                         clinic_num=2)
    main = od.office.add_appointment(ana["PatNum"], datetime(2026, 3, 3, 11, 0))
    ben_north = od.office.add_appointment(ben["PatNum"], datetime(2026, 3, 3, 12, 0),
                                          clinic_num=2)
    od.clock.tick()
    assert run_sync(db, settings, clock, connected).error is None
    ana_id, ben_id = (local_id(db, connected, "patient", p["PatNum"]) for p in (ana, ben))
    visits = {apt: local_id(db, connected, "appointment", apt)
              for apt in (at_north["AptNum"], main["AptNum"], ben_north["AptNum"])}
    ben_visit = visits[ben_north["AptNum"]]
    with db.transaction() as s:
        assert s.get(Patient, ana_id).clinic_id == north
        assert s.get(Patient, ben_id).clinic_id == connected.clinic_id
        clinics = {apt: s.get(Appointment, local).clinic_id for apt, local in visits.items()}
    # An appointment with no clinic there is at its patient's clinic here.
    assert clinics == {at_north["AptNum"]: north, main["AptNum"]: north,
                       ben_north["AptNum"]: north}

    tid = template(client, connected, "Hi {first_name}, see you at {appt_time}.", "reminder")
    r = client.post("/api/v1/reminder-rules", json={"template_id": tid, "lead": "1d"},
                    headers=connected.auth)
    assert r.status_code == 201, r.text
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))  # 12:00 in New York, a day before
    reminders.run(db, clock.now())
    with db.transaction() as s:
        sent = {row.appointment_id: s.get(Message, row.message_id)
                for row in s.scalars(select(ReminderSend)) if row.message_id}
        assert ben_visit in sent
        assert {m.number_id for m in sent.values()} == {north_number}
        assert {m.clinic_id for m in sent.values()} == {north}

    # The clinic changes there: the PMS wins, the next reminders go from the main clinic.
    od.clock.tick()
    od.office.update_appointment(ben_north["AptNum"], ClinicNum=0)
    od.office.update_patient(ana["PatNum"], ClinicNum=0)
    assert run_sync(db, settings, clock, connected).error is None
    with db.transaction() as s:
        assert s.get(Patient, ana_id).clinic_id == connected.clinic_id
        assert s.get(Appointment, ben_visit).clinic_id == connected.clinic_id


def test_a_clinic_map_naming_another_practices_clinic_is_refused(
        client: TestClient, od: Served, connected: Practice) -> None:
    for clinics, code in (({"2": 999_999}, "clinic_not_found"), ({"0": connected.clinic_id},
                                                                  "invalid_clinics"),
                          ({"two": connected.clinic_id}, "invalid_clinics")):
        r = client.put("/api/v1/integrations/opendental", headers=connected.auth, json={
            "base_url": od.base_url, "developer_key": "k", "customer_key": "k",
            "clinics": clinics})
        assert r.status_code in (404, 422), r.text
        assert r.json()["error"] == code
    assert client.get("/api/v1/integrations/opendental",
                      headers=connected.auth).json()["clinics"] == {}
