"""The audit trail: one row per action on patient data, by token or staff; append-only."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.helpers import Practice, make_patient, make_practice
from tests.pages.helpers import csrf_of, desk, text_in
from textdesk.kit.clock import FrozenClock
from textdesk.messaging.service import add_commlog
from textdesk.storage.db import Database
from textdesk.storage.models import Conversation, Message

PHONE = "(415) 555-0123"


def audit(client: TestClient, practice: Practice, **query: Any) -> list[dict[str, Any]]:
    r = client.get("/api/v1/audit", params=query, headers=practice.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _sent_commlog(db: Database) -> None:
    """A sent text gets its commlog when the carrier takes it; no connector runs here."""
    with db.transaction() as s:
        sent = s.scalars(select(Message).where(Message.direction == "outbound")).first()
        assert sent is not None
        add_commlog(s, sent, sent.created_at)


def _no_secrets(rows: list[dict[str, Any]], *secrets: str) -> None:
    dumped = repr(rows)
    for secret in secrets:
        assert secret not in dumped


def test_each_token_action_is_one_row(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, PHONE)  # its consent is the first audited action
    pid = patient["id"]
    sent = client.post("/api/v1/messages", json={"patient_id": pid, "body": "Secret words 42"},
                       headers=practice.auth)
    assert sent.status_code == 201
    assert client.get(f"/api/v1/patients/{pid}/messages", headers=practice.auth).status_code \
        == 200
    assert client.patch(f"/api/v1/patients/{pid}", json={"first_name": "Pia"},
                        headers=practice.auth).status_code == 200
    _sent_commlog(db)
    log = client.get(f"/api/v1/patients/{pid}/commlogs", headers=practice.auth).json()[0]
    assert client.delete(f"/api/v1/commlogs/{log['id']}", headers=practice.auth).status_code \
        == 204
    rows = audit(client, practice)
    assert [(r["action"], r["patient_id"], r["actor"]) for r in rows] == [
        ("consent_recorded", pid, "token"), ("text_sent", pid, "token"),
        ("conversation_opened", pid, "token"), ("patient_edited", pid, "token"),
        ("commlog_deleted", pid, "token")]
    assert rows[1]["subject"] == f"message {sent.json()['id']}"
    assert rows[4]["subject"] == f"commlog {log['id']}"
    assert all(r["ip"] == "testclient" and r["at"].endswith("Z") for r in rows)
    _no_secrets(rows, "Secret words", "555-0123", "5550123")


def test_a_refused_action_writes_no_row(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, PHONE, opted_in=False)
    blocked = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "Hi"},
                          headers=practice.auth)
    assert blocked.status_code == 422
    assert client.get("/api/v1/patients/999999/messages",
                      headers=practice.auth).status_code == 404
    assert audit(client, practice) == []


def test_staff_actions_name_the_staff_member(client: TestClient, db: Database,
                                             clock: FrozenClock) -> None:
    front = desk(client, db, clock)
    patient = make_patient(client, front.practice, PHONE)
    text_in(client, front.practice.number, "+14155550123", "Running late")
    with db.transaction() as s:
        conv = s.scalars(select(Conversation.id)).one()
    html = client.get(f"/conversations/{conv}").text
    client.post(f"/conversations/{conv}/send", data={"body": "No problem",
                                                     "csrf_token": csrf_of(html)})
    client.post(f"/conversations/{conv}/consent", data={"action": "opt_out", "note": "asked",
                                                        "csrf_token": csrf_of(html)})
    _sent_commlog(db)
    outbound = next(c for c in client.get(f"/api/v1/patients/{patient['id']}/commlogs",
                                          headers=front.practice.auth).json()
                    if c["direction"] == "outbound")
    done = client.post(f"/commlogs/{outbound['id']}/delete",
                       data={"conversation_id": conv, "csrf_token": csrf_of(html)},
                       follow_redirects=False)
    assert done.status_code == 303
    staff_rows = audit(client, front.practice, staff=front.email)
    actions = [r["action"] for r in staff_rows]
    assert {"conversation_opened", "text_sent", "consent_recorded",
            "commlog_deleted"} <= set(actions)
    assert all(r["patient_id"] == patient["id"] and r["actor"] == "staff" for r in staff_rows)
    _no_secrets(staff_rows, "No problem", "Running late", "5550123")


def test_filters_by_patient_and_time(client: TestClient, clock: FrozenClock) -> None:
    practice = make_practice(client)
    first = make_patient(client, practice, PHONE)
    clock.advance(hours=1)
    second = make_patient(client, practice, "(415) 555-0124")
    assert [r["patient_id"] for r in audit(client, practice, patient_id=second["id"])] \
        == [second["id"]]
    later = clock.now().isoformat()
    assert [r["patient_id"] for r in audit(client, practice, since=later)] == [second["id"]]
    assert [r["patient_id"] for r in audit(client, practice, until=later)] == [first["id"]]
    other = make_practice(client, name="Other", number="+15005550007")
    assert audit(client, other) == []


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'nothing'",
                                       "DELETE FROM audit_events"])
def test_the_trail_refuses_update_and_delete(client: TestClient, db: Database,
                                             statement: str) -> None:
    practice = make_practice(client)
    make_patient(client, practice, PHONE)
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text(statement))
    assert len(audit(client, practice)) == 1
