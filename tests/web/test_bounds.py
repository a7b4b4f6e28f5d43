"""Bad input at the edge gets a 4xx with a stable code and one shape, never a 500 (both DBs)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import make_patient, make_practice


@pytest.mark.parametrize("method, url, body", [
    ("get", "/api/v1/patients/9223372036854775808", None),
    ("post", "/api/v1/messages/-1938210349874647924736/cancel", None),
    ("get", "/api/v1/appointments?lead_id=2587198654990607029833", None),
    ("post", "/api/v1/messages", {"patient_id": 9223372036854775808, "body": "Hi"}),
    ("post", "/api/v1/patients", '{"first_name": "\\ud800"}'),  # a lone surrogate, as JSON
    ("post", "/api/v1/patients", {"first_name": "a\u0000b"}),
    ("post", "/api/v1/patients", {"first_name": "Ana", "wireless_phone": "5" * 302}),
    ("post", "/api/v1/patients", {"first_name": "x" * 10_000}),
    ("post", "/api/v1/campaigns", {"name": "c", "body": "Hi",
                                   "start_at": "9999-12-31T23:59:59+00:00"}),
    ("post", "/api/v1/appointments", {"patient_id": 1, "start": "0001-01-01T09:00:00+00:00"}),
])
def test_bad_input_is_a_422_with_the_field(client: TestClient, method: str, url: str,
                                           body: object) -> None:
    practice = make_practice(client)
    kwargs: dict[str, object] = {"json": body} if body is not None else {}
    if isinstance(body, str):
        kwargs = {"content": body, "headers": {**practice.auth,
                                               "content-type": "application/json"}}
    else:
        kwargs["headers"] = practice.auth
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == 422, r.text
    answer = r.json()
    assert answer["error"] == "invalid_request" and answer["field"] and answer["message"]


@pytest.mark.parametrize("written", ["%201", "+1", "1.0", "01"])
def test_an_id_is_digits_only(client: TestClient, written: str) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    assert client.get("/api/v1/patients/1", headers=practice.auth).status_code == 200
    r = client.get(f"/api/v1/patients/{written}", headers=practice.auth)
    assert r.status_code == 422 and r.json()["field"] == "patient_id"


def test_a_huge_body_is_refused_with_413_and_nothing_stored(client: TestClient) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/patients", headers=practice.auth,
                    content=b'{"first_name": "' + b"x" * 10_000_000 + b'"}',
                    )
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert client.get("/api/v1/patients", headers=practice.auth).json() == []


def test_an_unknown_field_is_a_400_everywhere(client: TestClient) -> None:
    practice = make_practice(client)
    for url in ("/api/v1/templates", "/api/v1/reminder-rules", "/api/v1/campaigns",
                "/api/v1/patients", "/api/v1/leads"):
        r = client.post(url, json={"colour": "red"}, headers=practice.auth)
        assert r.status_code == 400, (url, r.text)
        assert r.json() == {"error": "unknown_field", "message": "Unknown field(s): colour.",
                            "field": "colour"}


def test_a_phone_that_is_no_phone_is_kept_with_its_finding(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, "not a phone", opted_in=False)
    assert patient["phone"] is None and patient["phone_check"] not in (None, "ok")
    verdict = client.get(f"/api/v1/patients/{patient['id']}/can-text",
                         headers=practice.auth).json()
    assert verdict["can_text"] is False


@pytest.mark.parametrize(("method", "url", "body", "status", "code"), [
    # found by schemathesis (tests/web/test_schemathesis.py)
    ("post", "/api/v1/reminder-rules", {"kind": "lead", "lead": "2d", "send_time": "07:30",
                                        "template_id": False}, 404, "template_not_found"),
    ("post", "/api/v1/reminder-rules", {"kind": "lead", "lead": "2d", "template_id": 2**64},
     404, "template_not_found"),
    ("post", "/api/v1/campaigns", {"name": "x", "body": "Hi", "audience": {"clinic_id": True}},
     404, "clinic_not_found"),
    ("post", "/api/v1/campaigns", {"name": "x", "body": "Hi",
                                   "audience": {"clinic_id": 2**64}}, 404, "clinic_not_found"),
    ("post", "/api/v1/campaigns", {"name": "x", "body": "Hi", "audience_csv": "\r0"},
     422, "invalid_csv"),
    ("get", "/api/v1/audit?since=9999-12-31T23:59:59-01:00", None, 422, "invalid_request"),
    ("get", f"/api/v1/audit?patient_id={2**64}", None, 422, "invalid_request"),
    ("get", "/api/v1/audit?staff=a%00b", None, 422, "invalid_request"),
])
def test_odd_values_are_refused_with_a_stable_code(client: TestClient, method: str, url: str,
                                                   body: object, status: int,
                                                   code: str) -> None:
    practice = make_practice(client)
    kwargs: dict[str, object] = {"headers": practice.auth}
    if body is not None:
        kwargs["json"] = body
    r = getattr(client, method)(url, **kwargs)
    assert (r.status_code, r.json()["error"]) == (status, code), r.text


def test_a_csv_that_is_no_csv_is_refused(client: TestClient) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/appointments/import", content=b"\r0",
                    headers={**practice.auth, "content-type": "text/csv"})
    assert (r.status_code, r.json()["error"]) == (422, "invalid_csv")
