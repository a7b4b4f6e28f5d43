"""Appointments from a practice management system's CSV: created, updated, cancelled."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.helpers import Practice, make_practice
from tests.services.automation_support import patient, template
from tests.services.test_reminders import BODY, rule, texts
from textdesk.services import reminders
from textdesk.services.clock import FrozenClock
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
