"""Ids are 64-bit on both databases: 1 … 2^63-1 can name a row, anything past it is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.helpers import make_practice
from textdesk.domain.ids import MAX_ID
from textdesk.storage.db import Database
from textdesk.storage.models import Patient

BIG = 2**40  # past the 32-bit INTEGER that PostgreSQL's id columns were


def _stored_patient(db: Database, practice_id: int, clinic_id: int, patient_id: int) -> None:
    with db.transaction() as session:
        session.add(Patient(id=patient_id, practice_id=practice_id, clinic_id=clinic_id,
                            first_name="Big", last_name="Id", phone_raw="(415) 555-0123",
                            phone_e164="+14155550123", phone_check="ok", phone_region="US",
                            created_at=datetime(2026, 1, 1, tzinfo=UTC)))


@pytest.mark.parametrize("patient_id", [2**31, BIG, MAX_ID])
@pytest.mark.parametrize(("path", "code"), [
    ("/api/v1/patients/{}", "patient_not_found"),
    ("/api/v1/patients/{}/messages", "patient_not_found"),
    ("/api/v1/messages/{}", "message_not_found"),
    ("/api/v1/leads/{}", "lead_not_found"),
    ("/api/v1/campaigns/{}", "campaign_not_found"),
    ("/api/v1/appointments/{}", "appointment_not_found"),
    ("/api/v1/webhook-endpoints/{}", "webhook_endpoint_not_found"),
    ("/api/v1/media/{}", "media_not_found"),
])
def test_an_id_up_to_2_63_names_no_row_yet_and_is_the_routes_404(
        client: TestClient, patient_id: int, path: str, code: str) -> None:
    practice = make_practice(client)
    r = client.get(path.format(patient_id), headers=practice.auth)
    assert (r.status_code, r.json()["error"]) == (404, code), r.text


@pytest.mark.parametrize(("method", "url", "body"), [
    ("get", f"/api/v1/patients/{MAX_ID + 1}", None),
    ("get", "/api/v1/patients/" + "1" * 5000 + "/messages", None),  # past int()'s digit limit
    ("delete", f"/api/v1/commlogs/{MAX_ID + 1}", None),
    ("post", "/api/v1/messages", {"patient_id": MAX_ID + 1, "body": "Hi"}),
    ("get", f"/api/v1/webhook-endpoints/1/deliveries?before_id={MAX_ID + 1}", None),
])
def test_an_id_past_2_63_is_refused_with_the_field(client: TestClient, method: str, url: str,
                                                  body: object) -> None:
    practice = make_practice(client)
    kwargs: dict[str, object] = {"headers": practice.auth}
    if body is not None:
        kwargs["json"] = body
    r = getattr(client, method)(url, **kwargs)
    assert (r.status_code, r.json()["error"]) == (422, "invalid_request"), r.text
    assert r.json()["field"]


def test_a_patient_with_a_64_bit_id_is_read_texted_and_audited(client: TestClient,
                                                               db: Database) -> None:
    practice = make_practice(client)
    _stored_patient(db, practice.id, practice.clinic_id, BIG)
    r = client.get(f"/api/v1/patients/{BIG}", headers=practice.auth)
    assert (r.status_code, r.json()["id"]) == (200, BIG), r.text
    consent = client.post(f"/api/v1/patients/{BIG}/consent", headers=practice.auth,
                          json={"action": "opt_in", "scope": "all", "source": "verbal"})
    assert consent.status_code == 201, consent.text
    sent = client.post("/api/v1/messages", json={"patient_id": BIG, "body": "Hi"},
                       headers=practice.auth)
    assert sent.status_code in (200, 201, 202), sent.text
    messages = client.get(f"/api/v1/patients/{BIG}/messages", headers=practice.auth).json()
    assert [m["patient_id"] for m in messages] == [BIG]
    audit = client.get(f"/api/v1/audit?patient_id={BIG}", headers=practice.auth).json()
    assert {event["patient_id"] for event in audit} == {BIG}


def test_new_rows_are_numbered_past_2_31(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    _stored_patient(db, practice.id, practice.clinic_id, BIG)
    if db.engine.dialect.name == "postgresql":  # a sequence numbers PostgreSQL's new rows
        with db.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('patients', 'id'), :n)"),
                         {"n": BIG})
    r = client.post("/api/v1/patients", json={"first_name": "Next", "clinic_id":
                                              practice.clinic_id}, headers=practice.auth)
    assert (r.status_code, r.json()["id"]) == (201, BIG + 1), r.text
