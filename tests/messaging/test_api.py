"""The core API: practices, scoping, sending, messages, commlogs, connector."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.helpers import ADMIN, make_patient, make_practice


def test_operator_token_is_required_for_admin(client: TestClient) -> None:
    r = client.post("/api/v1/admin/practices", json={"name": "X"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = client.post("/api/v1/admin/practices", json={"name": "X"},
                    headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_token_is_stored_hashed(client: TestClient, db) -> None:  # type: ignore[no-untyped-def]
    practice = make_practice(client)
    from sqlalchemy import text

    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT api_token_hash FROM practices")).scalar_one()
    assert practice.token not in stored and len(stored) == 64


def test_another_practices_ids_answer_404(client: TestClient) -> None:
    a = make_practice(client, name="A", number="+15005550006")
    b = make_practice(client, name="B", number="+14155550999")
    patient = make_patient(client, a)
    for path in (f"/api/v1/patients/{patient['id']}", f"/api/v1/patients/{patient['id']}/consent",
                 f"/api/v1/patients/{patient['id']}/can-text",
                 f"/api/v1/patients/{patient['id']}/messages"):
        assert client.get(path, headers=a.auth).status_code == 200
        r = client.get(path, headers=b.auth)
        assert r.status_code == 404, path
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "hi"},
                    headers=b.auth)
    assert r.status_code == 404
    sent = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "hi"},
                       headers=a.auth).json()
    assert client.get(f"/api/v1/messages/{sent['id']}", headers=b.auth).status_code == 404


def test_send_writes_pending_and_returns(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "See you!"},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "pending" and body["segments"] == 1 and body["encoding"] == "GSM-7"
    # No connector has ever beaten: the text waits, and says why.
    assert [h["code"] for h in body["holds"]] == ["connector_down"]
    detail = client.get(f"/api/v1/messages/{body['id']}", headers=practice.auth).json()
    assert detail["status"] == "pending" and detail["to"] == "+14155550123"
    assert detail["history"][0]["status"] == "pending"
    assert detail["holds"][0]["code"] == "connector_down" and detail["failure"] is None


def test_blocked_send_is_422_with_every_blocker(client: TestClient) -> None:
    practice = make_practice(client, sms_enabled=False, approved=False)
    patient = make_patient(client, practice, opted_in=False)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": ""},
                    headers=practice.auth)
    assert r.status_code == 422
    codes = {b["code"] for b in r.json()["blockers"]}
    assert r.json()["error"] == "send_blocked"
    assert {"sms_not_enabled", "messaging_not_approved", "not_opted_in", "body_empty"} <= codes
    assert client.get(f"/api/v1/patients/{patient['id']}/messages",
                      headers=practice.auth).json() == []


def test_bad_input_never_500(client: TestClient) -> None:
    practice = make_practice(client)
    cases = [
        ("post", "/api/v1/messages", {"patient_id": "x", "body": 3}),
        ("post", "/api/v1/messages", {"body": "no recipient"}),
        ("post", "/api/v1/messages", {"patient_id": 1, "lead_id": 1, "body": "both"}),
        ("post", "/api/v1/patients", {"first_name": ""}),
        ("patch", "/api/v1/practice", {"default_country": "ZZ"}),
        ("patch", "/api/v1/practice", {"quiet_hours": {"start": "25:00", "end": "21:00"}}),
        ("patch", "/api/v1/practice", {"bogus": 1}),
        ("post", "/api/v1/clinics", {"name": "x", "monthly_limit_usd": "lots"}),
        ("post", f"/api/v1/clinics/{practice.clinic_id}/numbers", {"e164": "12", "kind": "local"}),
        ("post", f"/api/v1/clinics/{practice.clinic_id}/numbers",
         {"e164": "+14155550000", "kind": "pigeon"}),
        ("post", "/api/v1/patients/999/consent", {"action": "opt_in"}),
        ("get", "/api/v1/messages/abc", None),
    ]
    for method, path, payload in cases:
        r = getattr(client, method)(path, headers=practice.auth,
                                    **({"json": payload} if payload is not None else {}))
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert "error" in r.json(), (path, r.text)
    r = client.post("/api/v1/messages", content=b"{not json", headers={
        **practice.auth, "content-type": "application/json"})
    assert r.status_code == 422
    assert client.get("/api/v1/practice", headers=practice.auth).json()["default_country"] == "US"


def test_practice_settings_roundtrip(client: TestClient) -> None:
    practice = make_practice(client)
    r = client.patch("/api/v1/practice", json={"allowed_countries": ["us", "CA"],
                                               "url_policy": "block",
                                               "quiet_hours": {"start": "9:00", "end": "20:00"},
                                               "timezone": "America/Chicago"},
                     headers=practice.auth)
    assert r.status_code == 200, r.text
    got = client.get("/api/v1/practice", headers=practice.auth).json()
    assert got["allowed_countries"] == ["CA", "US"] and got["url_policy"] == "block"
    assert got["quiet_hours"] == {"start": "09:00", "end": "20:00"}


def test_hosted_landline_starts_pending_verification(client: TestClient) -> None:
    practice = make_practice(client, kind="hosted_landline", number="+14155550142")
    numbers = client.get("/api/v1/numbers", headers=practice.auth).json()
    assert numbers[0]["status"] == "pending_verification"
    r = client.post(f"/api/v1/admin/numbers/{practice.number_id}/confirm", headers=ADMIN)
    assert r.json()["status"] == "active"


def test_connector_reports_down_without_heartbeat(client: TestClient) -> None:
    practice = make_practice(client)
    r = client.get("/api/v1/connector", headers=practice.auth).json()
    assert r["status"] == "down" and r["last_heartbeat_at"] is None and r["errors"] == []
