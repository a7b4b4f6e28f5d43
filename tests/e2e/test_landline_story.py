"""The landline story over real HTTP (B4, B7, F2): the carrier says landline, the next send is
refused with `phone_landline`, staff edit the phone, and the text goes out."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import LiveServer

PHONE = "+14155550123"
NEW_PHONE = "+14155550177"


@pytest.mark.parametrize("carrier_status", ["failed", "undelivered"])
def test_landline_is_learned_refused_and_cleared_by_editing_the_phone(
        live_server: LiveServer, carrier_status: str) -> None:
    live = live_server
    practice = live.practice()
    patient = live.patient(practice, "(415) 555-0123")
    r = live.sim("POST", "/sim/landlines", json={"number": PHONE, "status": carrier_status})
    assert r.status_code == 200, r.text

    first = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                     "body": "Your crown is ready."},
                           headers=practice.auth)
    assert first.status_code == 201, first.text
    done = live.wait_status(practice, first.json()["id"], carrier_status)
    assert done["failure"] == {"cause": "recipient_landline", "error_code": 30006,
                               "message": "The number is a landline.",
                               "fix": "Enter a wireless number."}

    # What the carrier taught sticks to the patient's phone: the next send is refused.
    assert live.http.get(f"/api/v1/patients/{patient['id']}",
                         headers=practice.auth).json()["phone_finding"] == "landline"
    refused = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                       "body": "Did you get my text?"},
                             headers=practice.auth)
    assert refused.status_code == 422
    assert refused.json()["error"] == "send_blocked"
    assert refused.json()["blockers"] == [{
        "code": "phone_landline",
        "message": "The carrier reported this number as a landline, which cannot receive "
                   "texts.",
        "fix": "Enter a wireless number."}]
    why = live.http.get(f"/api/v1/patients/{patient['id']}/can-text",
                        headers=practice.auth).json()
    assert why["can_text"] is False and why["blockers"] == refused.json()["blockers"]

    # Staff enter the patient's mobile; consent is per number, so it is recorded again.
    edited = live.http.patch(f"/api/v1/patients/{patient['id']}",
                             json={"wireless_phone": "(415) 555-0177"}, headers=practice.auth)
    assert edited.status_code == 200
    assert edited.json()["phone"] == NEW_PHONE and edited.json()["phone_finding"] is None
    r = live.http.post(f"/api/v1/patients/{patient['id']}/consent",
                       json={"action": "opt_in", "source": "verbal"}, headers=practice.auth)
    assert r.status_code == 201

    second = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                      "body": "Your crown is ready."},
                            headers=practice.auth)
    assert second.status_code == 201, second.text
    delivered = live.wait_status(practice, second.json()["id"], "delivered")
    assert delivered["to"] == NEW_PHONE and delivered["failure"] is None

    # The refused text never reached the carrier: it saw one text to each number.
    log = live.sim("GET", "/sim/log").json()
    assert sorted(entry["to"] for entry in log) == [PHONE, NEW_PHONE]
