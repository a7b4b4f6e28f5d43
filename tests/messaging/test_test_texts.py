"""A test text goes only to the practice's own phones, never to the sending number (A6)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import make_patient, make_practice
from tests.practice.test_api_can_text import carrier_answers
from textdesk.domain.reasons import CATALOGUE, FailureCause, cause_for_error, describe_failure
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Message


def message_count(db: Database) -> int:
    with db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


def test_a_test_text_to_a_patient_who_texted_stop_is_refused(client: TestClient,
                                                             db: Database) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, "(415) 555-0123")
    r = client.post(f"/api/v1/patients/{patient['id']}/consent",
                    json={"action": "opt_out", "source": "verbal"}, headers=practice.auth)
    assert r.status_code == 201, r.text
    before = message_count(db)
    r = client.post("/api/v1/messages/test", json={"to": "(415) 555-0123"},
                    headers=practice.auth)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "test_recipient_not_office"
    assert [b["code"] for b in r.json()["blockers"]] == ["test_recipient_not_office"]
    assert r.json()["message"] == CATALOGUE["test_recipient_not_office"].message
    assert message_count(db) == before


def test_a_test_text_to_a_stranger_is_refused(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/messages/test", json={"to": "+14155550188"}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "test_recipient_not_office"
    assert message_count(db) == 0


def test_the_office_mobile_and_the_clinic_phone_may_get_a_test(client: TestClient) -> None:
    practice = make_practice(client)  # its clinic's phone is +1 415 555 0100
    assert client.patch("/api/v1/practice", json={"office_phone": "(415) 555-0177"},
                        headers=practice.auth).status_code == 200
    for to in ("(415) 555-0100", "+14155550177", None):
        r = client.post("/api/v1/messages/test", json={"to": to}, headers=practice.auth)
        assert r.status_code == 201, (to, r.text)


def test_a_test_text_to_the_sending_number_says_so(client: TestClient, db: Database) -> None:
    practice = make_practice(client, number="+14155550111")
    r = client.post("/api/v1/messages/test", json={"to": "+14155550111"}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "test_recipient_is_sender"
    assert "To and From are the same number" in r.json()["message"]
    assert message_count(db) == 0


def test_a_carrier_answering_21266_is_told_in_words(client: TestClient, db: Database,
                                                    clock: FrozenClock) -> None:
    assert cause_for_error(21266) is FailureCause.RECIPIENT_IS_SENDER
    practice = make_practice(client)
    sent = client.post("/api/v1/messages/test", json={"to": "(415) 555-0100"},
                       headers=practice.auth)
    assert sent.status_code == 201, sent.text
    client.post("/api/v1/connector/heartbeat", json={"connector_id": "c"}, headers=practice.auth)
    assert carrier_answers(db, clock, error_code=21266) == 1
    failure = client.get(f"/api/v1/messages/{sent.json()['id']}",
                         headers=practice.auth).json()["failure"]
    sentence, fix = describe_failure(FailureCause.RECIPIENT_IS_SENDER)
    assert failure["cause"] == "recipient_is_sender" and failure["error_code"] == 21266
    assert failure["message"] == sentence and "same number" in sentence and fix
