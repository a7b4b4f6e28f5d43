"""The hosted-landline story over real HTTP (A3): texts from an unverified hosted number are
accepted and held `pending`; the operator confirms the number; they leave by themselves."""

from __future__ import annotations

import time

from tests.e2e.conftest import LiveServer
from tests.helpers import ADMIN

HOLD = {"code": "number_pending_verification",
        "message": "The clinic's hosted landline is waiting for verification; the text goes "
                   "out once it is verified.",
        "fix": "Ask the operator to confirm the hosted number."}


def test_held_texts_leave_without_resending_once_the_number_is_confirmed(
        live_server: LiveServer) -> None:
    live = live_server
    practice = live.practice(kind="hosted_landline", number="+14155550142")
    patients = [live.patient(practice, "(415) 555-0123"),
                live.patient(practice, "(415) 555-0124", first_name="Sam")]
    queued = []
    for patient in patients:
        r = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                     "body": "Your cleaning is on Friday."},
                           headers=practice.auth)
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "pending" and HOLD in r.json()["holds"]
        queued.append(r.json()["id"])
    health = live.http.get("/api/v1/health", headers=practice.auth).json()
    verification = next(c for c in health["checks"] if c["check"] == "verification")
    assert verification["status"] == "amber"

    # The connector is running and polling every 50 ms; the held texts stay where they are.
    time.sleep(0.5)
    for message_id in queued:
        held = live.message(practice, message_id)
        assert held["status"] == "pending" and held["holds"] == [HOLD]
        assert [h["status"] for h in held["history"]] == ["pending"]
    assert live.sim("GET", "/sim/log").json() == []

    r = live.http.post(f"/api/v1/admin/numbers/{practice.number_id}/confirm", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "active"

    for message_id in queued:
        done = live.wait_status(practice, message_id, "delivered")
        assert done["holds"] == [] and done["from"] == "+14155550142"
        statuses = [h["status"] for h in done["history"] if h["source"] != "callback"]
        assert statuses == ["pending", "sending", "sent"]
    log = live.sim("GET", "/sim/log").json()
    assert sorted(e["to"] for e in log) == ["+14155550123", "+14155550124"]  # each once
    health = live.http.get("/api/v1/health", headers=practice.auth).json()
    verification = next(c for c in health["checks"] if c["check"] == "verification")
    assert verification["status"] == "green"
