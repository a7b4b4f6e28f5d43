"""`Idempotency-Key` on creating requests: the first answer once, never a second row."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.helpers import Practice, make_patient, make_practice
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

# (path, body, the table that gains a row); {pid} is a patient of the practice.
CREATING: list[tuple[str, dict[str, Any], str]] = [
    ("/api/v1/messages", {"patient_id": "{pid}", "body": "See you Tuesday at 9:00."}, "messages"),
    ("/api/v1/messages/test", {"to": "+14155550100"}, "messages"),
    ("/api/v1/patients", {"first_name": "Ann", "last_name": "Lee",
                          "wireless_phone": "(415) 555-0199", "clinic_id": "{cid}"}, "patients"),
    ("/api/v1/leads", {"first_name": "Lea", "phone": "(415) 555-0188"}, "leads"),
    ("/api/v1/appointments", {"patient_id": "{pid}", "start": "2026-03-10T15:00:00Z"},
     "appointments"),
    ("/api/v1/campaigns", {"name": "Recall", "body": "Time for a checkup."}, "campaigns"),
    ("/api/v1/patients/{pid}/consent", {"action": "opt_out", "scope": "all",
                                        "source": "verbal"}, "consent_events"),
]


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, str) and value in ("{pid}", "{cid}"):
        return ids[value[1:-1]]
    return value


@pytest.fixture
def setup(client: TestClient) -> tuple[Practice, Callable[[str, dict[str, Any]],
                                                          tuple[str, dict[str, Any]]]]:
    practice = make_practice(client)
    pid = make_patient(client, practice)["id"]
    ids = {"pid": pid, "cid": practice.clinic_id}

    def request(path: str, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return (path.replace("{pid}", str(pid)), {k: _fill(v, ids) for k, v in body.items()})

    return practice, request


@pytest.mark.parametrize(("path", "body", "table"), CREATING)
def test_the_same_key_and_body_get_the_first_answer_and_nothing_new(
        client: TestClient, db: Database, setup: Any, path: str, body: dict[str, Any],
        table: str) -> None:
    practice, request = setup
    url, data = request(path, body)
    headers = {**practice.auth, "Idempotency-Key": "retry-1"}
    first = client.post(url, json=data, headers=headers)
    assert first.status_code in (200, 201), first.text
    rows = count(db, table)
    again = client.post(url, json=data, headers=headers)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert count(db, table) == rows
    other = client.post(url, json={**data, "extra": 1}, headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    assert count(db, table) == rows


def test_without_a_key_each_request_creates(client: TestClient, db: Database, setup: Any) -> None:
    practice, request = setup
    url, data = request(*CREATING[0][:2])
    for _ in range(2):
        assert client.post(url, json=data, headers=practice.auth).status_code == 201
    assert count(db, "messages") == 2


def test_the_same_json_in_another_order_is_the_same_request(client: TestClient, db: Database,
                                                            setup: Any) -> None:
    practice, request = setup
    url, data = request(*CREATING[0][:2])
    headers = {**practice.auth, "Idempotency-Key": "k", "content-type": "application/json"}
    first = client.post(url, content=f'{{"patient_id": {data["patient_id"]}, "body": '
                        f'"{data["body"]}"}}', headers=headers)
    second = client.post(url, content=f'{{"body":"{data["body"]}",'
                         f'"patient_id":{data["patient_id"]}}}', headers=headers)
    assert second.json() == first.json() and count(db, "messages") == 1


def test_keys_belong_to_one_practice(client: TestClient, db: Database, setup: Any) -> None:
    practice, request = setup
    other = make_practice(client, name="Other Dental", number="+15005550007")
    url, data = request(*CREATING[5][:2])
    for who in (practice, other):
        r = client.post(url, json=data, headers={**who.auth, "Idempotency-Key": "same"})
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert count(db, "campaigns") == 2


def test_a_key_lives_24_hours(client: TestClient, db: Database, clock: FrozenClock,
                              setup: Any) -> None:
    practice, request = setup
    url, data = request(*CREATING[3][:2])
    headers = {**practice.auth, "Idempotency-Key": "day"}
    first = client.post(url, json=data, headers=headers)
    clock.advance(hours=23, minutes=59)
    assert client.post(url, json=data, headers=headers).json() == first.json()
    clock.advance(minutes=2)
    client.post(url, json={**data, "phone": "(415) 555-0177"}, headers=headers)
    assert count(db, "leads") == 2  # the expired key was a new key


def test_a_refusal_is_answered_again_too(client: TestClient, db: Database, setup: Any) -> None:
    practice, _ = setup
    headers = {**practice.auth, "Idempotency-Key": "bad"}
    first = client.post("/api/v1/messages", json={"patient_id": 999999, "body": "x"},
                        headers=headers)
    assert first.status_code == 404
    again = client.post("/api/v1/messages", json={"patient_id": 999999, "body": "x"},
                        headers=headers)
    assert (again.status_code, again.json()) == (404, first.json())


def test_a_key_too_long_is_refused(client: TestClient, db: Database, setup: Any) -> None:
    practice, request = setup
    url, data = request(*CREATING[0][:2])
    r = client.post(url, json=data, headers={**practice.auth, "Idempotency-Key": "k" * 256})
    assert r.status_code == 422 and r.json()["error"] == "invalid_idempotency_key"
    assert count(db, "messages") == 0


def test_an_unknown_token_is_still_401(client: TestClient) -> None:
    r = client.post("/api/v1/messages", json={"patient_id": 1, "body": "x"},
                    headers={"Authorization": "Bearer nope", "Idempotency-Key": "k"})
    assert r.status_code == 401
