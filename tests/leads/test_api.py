"""The leads and appointments API: shapes, filters, settings, errors (never a 500)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.consent.support import text_in
from tests.helpers import make_patient, make_practice
from tests.leads.support import LEAD_PHONE, make_lead, set_stage, text_lead
from textdesk.kit.clock import FrozenClock


def test_list_filters_by_stage_and_clinic(client: TestClient) -> None:
    practice = make_practice(client)
    first = make_lead(client, practice, opted_in=False)
    second = make_lead(client, practice, "(415) 555-0178", opted_in=False)
    set_stage(client, practice, second["id"], "closed_lost")
    auth = practice.auth
    assert [x["id"] for x in client.get("/api/v1/leads", headers=auth).json()] == \
        [second["id"], first["id"]]
    new = client.get("/api/v1/leads", params={"stage": "new"}, headers=auth).json()
    assert [x["id"] for x in new] == [first["id"]]
    assert client.get("/api/v1/leads", params={"clinic_id": practice.clinic_id + 99},
                      headers=auth).json() == []
    r = client.get("/api/v1/leads", params={"stage": "won"}, headers=auth)
    assert r.status_code == 422 and r.json()["error"] == "invalid_stage"


def test_get_shows_the_lead_and_its_stage_history(client: TestClient) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    set_stage(client, practice, lead["id"], "contacted", "left a voicemail")
    body = client.get(f"/api/v1/leads/{lead['id']}", headers=practice.auth).json()
    assert {"id", "clinic_id", "patient_id", "first_name", "last_name", "phone", "source",
            "owner", "stage", "is_active", "inquiry_count", "last_activity_at",
            "created_at"} <= set(body)
    assert [(c["from"], c["to"], c["by"]) for c in body["stage_history"]] == \
        [(None, "new", "staff"), ("new", "contacted", "staff")]
    assert body["stage_history"][-1]["reason"] == "left a voicemail"


def test_patch_updates_owner_and_names(client: TestClient) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    r = client.patch(f"/api/v1/leads/{lead['id']}",
                     json={"owner": "maria", "first_name": "Leona"}, headers=practice.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["owner"], r.json()["first_name"], r.json()["stage"]) == \
        ("maria", "Leona", "new")


@pytest.mark.parametrize("changes, code", [
    ({"stage": "closed", "owner": "x"}, "invalid_stage"),
    ({"first_name": ""}, "invalid_first_name"),
    ({"phone": "+14155550100"}, "unknown_field"),
    ({"reason": 5, "stage": "contacted"}, "invalid_reason"),
])
def test_bad_patch_is_refused_and_changes_nothing(client: TestClient, changes: dict,  # type: ignore[type-arg]
                                                  code: str) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    r = client.patch(f"/api/v1/leads/{lead['id']}", json=changes, headers=practice.auth)
    assert r.status_code == (400 if code == "unknown_field" else 422)
    assert r.json()["error"] == code
    after = client.get(f"/api/v1/leads/{lead['id']}", headers=practice.auth).json()
    assert (after["stage"], after["owner"], after["first_name"]) == ("new", None, "Lee")


def test_lead_settings_have_defaults_and_are_validated(client: TestClient) -> None:
    practice = make_practice(client)
    auth = practice.auth
    defaults = {"lead_appointment_window_days": 30, "lead_inactivity_days": 15}
    assert client.get("/api/v1/leads/settings", headers=auth).json() == defaults
    for bad in ({"lead_inactivity_days": 0}, {"lead_inactivity_days": "7"},
                {"lead_appointment_window_days": 7, "lead_inactivity_days": 999},
                {"inactivity": 3}):
        r = client.patch("/api/v1/leads/settings", json=bad, headers=auth)
        assert r.status_code in (400, 422) and r.json()["error"] in (
            "invalid_lead_inactivity_days", "unknown_field"), bad
    assert client.get("/api/v1/leads/settings", headers=auth).json() == defaults
    r = client.patch("/api/v1/leads/settings", json={"lead_appointment_window_days": 7},
                     headers=auth)
    assert r.json() == {"lead_appointment_window_days": 7, "lead_inactivity_days": 15}


def test_the_lead_thread_lists_both_directions(client: TestClient,
                                               clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    text_lead(client, practice, lead["id"], "Hello from Main Dental")
    clock.advance(minutes=3)
    text_in(client, practice, LEAD_PHONE, "Hi! When can I come?")
    thread = client.get(f"/api/v1/leads/{lead['id']}/messages", headers=practice.auth).json()
    assert [(m["direction"], m["lead_id"]) for m in thread] == \
        [("outbound", lead["id"]), ("inbound", lead["id"])]
    assert thread[0]["to"] == LEAD_PHONE and thread[1]["from"] == LEAD_PHONE


def test_lead_consent_is_the_phone_consent(client: TestClient) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    consent = client.get(f"/api/v1/leads/{lead['id']}/consent", headers=practice.auth).json()
    assert consent["state"] == "opted_in" and consent["history"][0]["source"] == "web_form"
    r = client.post(f"/api/v1/leads/{lead['id']}/consent",
                    json={"action": "maybe", "scope": "all", "source": "verbal"},
                    headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "invalid_consent"


# --- appointments ----------------------------------------------------------------------------

def _start(clock: FrozenClock, days: float = 2) -> str:
    return (clock.now() + timedelta(days=days)).isoformat()


def test_appointment_lifecycle(client: TestClient, clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    auth = practice.auth
    r = client.post("/api/v1/appointments", json={"patient_id": patient["id"],
                                                  "start": "2026-03-10T09:00:00-05:00",
                                                  "provider": "Dr. Kim"}, headers=auth)
    assert r.status_code == 201, r.text
    appt = r.json()
    assert (appt["start"], appt["status"], appt["lead_id"]) == \
        ("2026-03-10T14:00:00+00:00", "scheduled", None)
    assert client.get(f"/api/v1/appointments/{appt['id']}", headers=auth).json() == appt
    listed = client.get("/api/v1/appointments", params={"patient_id": patient["id"]},
                        headers=auth).json()
    assert [a["id"] for a in listed] == [appt["id"]]
    r = client.patch(f"/api/v1/appointments/{appt['id']}",
                     json={"status": "confirmed", "start": "2026-03-11T09:00:00-05:00"},
                     headers=auth)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert r.json()["start"] == "2026-03-11T14:00:00+00:00"
    r = client.patch(f"/api/v1/appointments/{appt['id']}", json={"status": "scheduled"},
                     headers=auth)
    assert r.status_code == 409 and r.json()["error"] == "appointment_status_not_allowed"
    assert client.patch(f"/api/v1/appointments/{appt['id']}", json={"status": "completed"},
                        headers=auth).status_code == 200
    r = client.post(f"/api/v1/appointments/{appt['id']}/cancel", headers=auth)
    assert r.status_code == 409 and r.json()["error"] == "appointment_status_not_allowed"
    r = client.patch(f"/api/v1/appointments/{appt['id']}", json={"provider": "Dr. Lee"},
                     headers=auth)
    assert r.status_code == 409 and r.json()["error"] == "appointment_closed"


@pytest.mark.parametrize("body, status, code", [
    ({"start": "2026-03-10T09:00:00-05:00"}, 422, "invalid_recipient"),
    ({"patient_id": 0, "start": "2026-03-10T09:00:00"}, 422, "invalid_start"),
    ({"patient_id": 0, "start": "next tuesday"}, 422, "invalid_start"),
    ({"patient_id": 999, "start": "2026-03-10T09:00:00Z"}, 404, "patient_not_found"),
    ({"lead_id": 999, "start": "2026-03-10T09:00:00Z"}, 404, "lead_not_found"),
    ({"patient_id": 0, "clinic_id": 999, "start": "2026-03-10T09:00:00Z"}, 404,
     "clinic_not_found"),
    ({"patient_id": "x", "start": 3}, 422, "invalid_request"),
    ({"patient_id": 1, "start": "2026-03-10T09:00:00Z", "room": 2}, 400, "unknown_field"),
])
def test_bad_bookings_are_refused_and_write_nothing(client: TestClient, body: dict,  # type: ignore[type-arg]
                                                     status: int, code: str) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    if body.get("patient_id") == 0:
        body = {**body, "patient_id": patient["id"]}
    r = client.post("/api/v1/appointments", json=body, headers=practice.auth)
    assert (r.status_code, r.json()["error"]) == (status, code), r.text
    assert client.get("/api/v1/appointments", headers=practice.auth).json() == []


def test_a_lead_of_another_practice_cannot_be_booked(client: TestClient,
                                                     clock: FrozenClock) -> None:
    a = make_practice(client, name="A", number="+15005550006")
    b = make_practice(client, name="B", number="+14155550999")
    lead = make_lead(client, a)
    r = client.post("/api/v1/appointments", json={"lead_id": lead["id"],
                                                  "start": _start(clock)}, headers=b.auth)
    assert r.status_code == 404
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=a.auth).json()["stage"] == "new"


def test_bad_input_never_500(client: TestClient) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    cases = [
        ("post", "/api/v1/leads", {"first_name": None, "phone": None}),
        ("post", "/api/v1/leads", []),
        ("patch", f"/api/v1/leads/{lead['id']}", {"stage": ["engaged"]}),
        ("patch", f"/api/v1/leads/{lead['id']}", {"owner": 5}),
        ("patch", f"/api/v1/leads/{lead['id']}", []),
        ("patch", "/api/v1/leads/settings", {"lead_inactivity_days": None}),
        ("get", "/api/v1/leads/abc", None),
        ("post", f"/api/v1/leads/{lead['id']}/consent", {"action": None}),
        ("post", "/api/v1/appointments", {"lead_id": lead["id"], "start": "2026-13-40T99:00Z"}),
        ("patch", "/api/v1/appointments/1", {"status": "gone"}),
        ("post", "/api/v1/appointments/1/cancel", None),
    ]
    for method, path, payload in cases:
        kwargs = {"json": payload} if payload is not None else {}
        r = client.request(method, path, headers=practice.auth, **kwargs)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
        assert "error" in r.json()


def test_openapi_lists_the_lead_and_appointment_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/leads", "/api/v1/leads/{lead_id}", "/api/v1/leads/{lead_id}/consent",
                 "/api/v1/leads/{lead_id}/messages", "/api/v1/leads/{lead_id}/can-text",
                 "/api/v1/appointments", "/api/v1/appointments/{appointment_id}",
                 "/api/v1/appointments/{appointment_id}/cancel"):
        assert path in paths, path
