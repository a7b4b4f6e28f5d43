"""Appointments from a practice management system's CSV: created, updated, cancelled."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.automation.support import patient, template
from tests.automation.test_reminders import BODY, rule, texts
from tests.helpers import Practice, make_practice
from textdesk.automation import reminders
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database


def upload(client: TestClient, practice: Practice, csv: str) -> dict:
    r = client.post("/api/v1/appointments/import", content=csv.encode(),
                    headers={**practice.auth, "Content-Type": "text/csv"})
    return {"status": r.status_code, **r.json()}


def test_import_creates_then_updates_and_cancels(client: TestClient, db: Database,
                                                 clock: FrozenClock) -> None:
    practice = make_practice(client)
    ana = patient(client, practice, "+12125550100", first_name="Ana")
    bo = patient(client, practice, "+12125550101", first_name="Bo")
    rule(client, practice, template(client, practice, BODY, "reminder"), lead="13h")
    first = upload(client, practice,
                   "id,patient,clinic,start,provider,status\n"
                   f"A1,{ana},Main,2026-03-04 11:30,Dr. Lee,Scheduled\n"
                   f"A2,{bo},,2026-03-08 11:30,Dr. Lee,confirmed\n")
    assert first == {"status": 200, "rows": 2, "created": 2, "updated": 0, "cancelled": 0,
                     "unchanged": 0}
    listed = client.get("/api/v1/appointments", headers=practice.auth).json()
    starts = {a["patient_id"]: (a["start"], a["status"]) for a in listed}
    # local times in the practice's zone: EST on the 4th, EDT on the 8th (DST)
    assert starts == {ana: ("2026-03-04T16:30:00+00:00", "scheduled"),
                      bo: ("2026-03-08T15:30:00+00:00", "confirmed")}
    a1 = next(a["id"] for a in listed if a["patient_id"] == ana)
    clock.set(datetime(2026, 3, 4, 3, 30, tzinfo=UTC))
    reminders.run(db, clock.now())
    [waiting] = texts(db, a1)
    assert waiting.status == "pending"
    again = upload(client, practice,
                   "id,patient,clinic,start,provider,status\n"
                   f"A1,{ana},Main,2026-03-04 11:30,Dr. Lee,Broken\n"
                   f"A2,{bo},,2026-03-08 11:30,Dr. Lee,confirmed\n")
    assert (again["cancelled"], again["unchanged"], again["created"]) == (1, 1, 0)
    [canceled] = texts(db, a1)
    assert (canceled.status, canceled.cancel_reason) == ("canceled", "appointment_cancelled")


def test_a_file_with_bad_rows_changes_nothing(client: TestClient) -> None:
    practice = make_practice(client)
    ana = patient(client, practice, "+12125550100")
    result = upload(client, practice,
                    "patient,start,status\n"
                    f"{ana},2026-03-04 11:30,scheduled\n"
                    "999999,2026-03-04 11:30,scheduled\n"
                    f"{ana},next tuesday,scheduled\n"
                    f"{ana},2026-03-05 09:00,maybe\n")
    assert result["status"] == 422 and result["error"] == "invalid_import"
    assert [(e["row"], e["error"]) for e in result["errors"]] == [
        (2, "patient_not_found"), (3, "invalid_start"), (4, "invalid_status")]
    assert client.get("/api/v1/appointments", headers=practice.auth).json() == []


def test_a_file_without_the_columns_is_refused(client: TestClient) -> None:
    practice = make_practice(client)
    result = upload(client, practice, "name,when\nAna,tomorrow\n")
    assert result["status"] == 422 and result["error"] == "invalid_csv"
    assert upload(client, practice, "")["error"] == "invalid_csv"


def test_bad_rows_are_reported_never_a_server_error(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    ana = patient(client, practice, "+12125550100", first_name="Ana")
    answer = upload(client, practice,
                    "id,patient,clinic,start,status\n"
                    f",{'9' * 5000},,2026-03-04 11:30,scheduled\n"
                    f",{2**63},,2026-03-04 11:30,scheduled\n"
                    f"{'x' * 65},{ana},,2026-03-04 11:30,scheduled\n"
                    f",{ana},,0001-01-01T09:00:00+00:00,scheduled\n"
                    f",{ana},,9999-12-31 23:59,scheduled\n"
                    f",{ana},{'c' * 5000},2026-03-04 11:30,scheduled\n")
    assert answer["status"] == 422 and answer["error"] == "invalid_import"
    assert [(e["row"], e["error"]) for e in answer["errors"]] == [
        (1, "patient_not_found"), (2, "patient_not_found"), (3, "invalid_id"),
        (4, "invalid_start"), (5, "invalid_start"), (6, "clinic_not_found")]
    assert client.get("/api/v1/appointments", headers=practice.auth).json() == []
    for refused in ("patient,start\n1,2026-03-04 11:30\x00\n",
                    "patient,start\n" + "1,x\n" * 20_001):
        assert upload(client, practice, refused)["error"] == "invalid_csv"
    r = client.post("/api/v1/appointments/import", content=b"\xff\xfe",
                    headers={**practice.auth, "Content-Type": "text/csv"})
    assert r.status_code == 422 and r.json()["error"] == "invalid_csv"
