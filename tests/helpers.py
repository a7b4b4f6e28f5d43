"""Building blocks for tests: a ready practice through the public API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

ADMIN = {"Authorization": "Bearer test-admin-token"}


@dataclass
class Practice:
    id: int
    token: str
    clinic_id: int
    number_id: int
    number: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_practice(client: TestClient, *, name: str = "Test Dental", number: str = "+15005550006",
                  kind: str = "local", approved: bool = True, sms_enabled: bool = True,
                  limit: float | None = None, keyword_replies: str | None = None) -> Practice:
    """A practice with one clinic and one number; `keyword_replies="textdesk"` turns the
    carrier's own STOP / START / HELP answers off on it (textdesk answers instead)."""
    r = client.post("/api/v1/admin/practices", json={"name": name}, headers=ADMIN)
    assert r.status_code == 201, r.text
    body = r.json()
    auth = {"Authorization": f"Bearer {body['api_token']}"}
    if sms_enabled:
        assert client.patch("/api/v1/practice", json={"sms_enabled": True},
                            headers=auth).status_code == 200
    clinic = client.post("/api/v1/clinics", json={"name": "Main", "phone": "+14155550100",
                                                  "monthly_limit_usd": limit}, headers=auth)
    assert clinic.status_code == 201, clinic.text
    num = client.post(f"/api/v1/clinics/{clinic.json()['id']}/numbers",
                      json={"e164": number, "kind": kind}, headers=auth)
    assert num.status_code == 201, num.text
    if approved:
        r = client.put(f"/api/v1/admin/numbers/{num.json()['id']}/registration",
                       json={"status": "approved"}, headers=ADMIN)
        assert r.status_code == 200
    if keyword_replies is not None:
        r = client.patch(f"/api/v1/numbers/{num.json()['id']}",
                         json={"keyword_replies": keyword_replies}, headers=auth)
        assert r.status_code == 200, r.text
    return Practice(body["id"], body["api_token"], clinic.json()["id"], num.json()["id"],
                    num.json()["e164"])


def make_patient(client: TestClient, practice: Practice, phone: str | None = "(415) 555-0123",
                 *, opted_in: bool = True, first_name: str = "Pat") -> dict[str, Any]:
    r = client.post("/api/v1/patients", json={"first_name": first_name, "last_name": "Doe",
                                              "wireless_phone": phone,
                                              "clinic_id": practice.clinic_id},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    patient = r.json()
    if opted_in:
        c = client.post(f"/api/v1/patients/{patient['id']}/consent",
                        json={"action": "opt_in", "scope": "all", "source": "verbal"},
                        headers=practice.auth)
        assert c.status_code == 201, c.text
    return patient
