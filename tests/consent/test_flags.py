"""Free-text revocations (C3): flagged with a due date, listed, confirmed or dismissed once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.consent.support import (
    answers_to,
    consent_events,
    consent_state,
    conversation,
    messages_with,
    send_manual,
    text_in,
)
from tests.helpers import make_patient, make_practice
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

PHONE = "+14155550123"


def flags(client: TestClient, practice, status: str = "open") -> list[dict]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/consent-flags", params={"status": status}, headers=practice.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("body", ["please stop texting me", "remove me from your list",
                                  "Don't text me", "STOP please"])
def test_revocation_is_flagged_with_due_date_and_needs_review(client: TestClient, db: Database,
                                                              body: str) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    queued = send_manual(client, practice, patient["id"])
    text_in(client, practice, PHONE, body)

    [flag] = flags(client, practice)
    inbound = messages_with(db, practice.id, PHONE, direction="inbound")[0]
    assert (flag["phone"], flag["message_id"], flag["body"], flag["patient_id"]) == (
        PHONE, inbound.id, body, patient["id"])
    # Monday 2026-03-02 10:00 New York + 10 business days = Monday 2026-03-16, same local hour.
    assert datetime.fromisoformat(flag["due_at"]) == datetime(2026, 3, 16, 14, 0, tzinfo=UTC)
    assert flag["is_overdue"] is False
    conv = conversation(db, practice.id, PHONE)
    assert conv is not None and conv.needs_review and flag["conversation_id"] == conv.id
    # A flag is not an opt-out yet: nothing changed, nothing was answered.
    assert consent_state(client, practice, PHONE) == "opted_in"
    assert answers_to(db, practice.id, PHONE) == []
    assert client.get(f"/api/v1/messages/{queued['id']}",
                      headers=practice.auth).json()["status"] == "pending"


def test_confirm_records_a_staff_opt_out_in_one_step(client: TestClient, db: Database,
                                                     clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    queued = send_manual(client, practice, patient["id"])
    text_in(client, practice, PHONE, "please stop texting me")
    [flag] = flags(client, practice)
    clock.advance(days=2)

    r = client.post(f"/api/v1/consent-flags/{flag['id']}/confirm", json={"actor": "Dana"},
                    headers=practice.auth)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["resolved_by"]) == ("confirmed", "Dana")
    last = consent_events(db, practice.id, PHONE)[-1]
    assert (last.action, last.scope, last.source, last.actor, last.evidence_message_id) == (
        "opt_out", "all", "staff", "Dana", flag["message_id"])
    assert last.at == clock.now()
    assert consent_state(client, practice, PHONE) == "opted_out"
    got = client.get(f"/api/v1/messages/{queued['id']}", headers=practice.auth).json()
    assert (got["status"], got["canceled_reason"]) == ("canceled", "opted_out")
    assert flags(client, practice) == []
    conv = conversation(db, practice.id, PHONE)
    assert conv is not None and not conv.needs_review

    again = client.post(f"/api/v1/consent-flags/{flag['id']}/confirm", headers=practice.auth)
    assert again.status_code == 409 and again.json()["error"] == "flag_already_resolved"
    assert len(consent_events(db, practice.id, PHONE)) == 2  # nothing recorded twice


def test_dismiss_leaves_consent_alone(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "wrong number")
    [flag] = flags(client, practice)
    r = client.post(f"/api/v1/consent-flags/{flag['id']}/dismiss",
                    json={"note": "it is her son's phone"}, headers=practice.auth)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert r.json()["note"] == "it is her son's phone"
    assert consent_state(client, practice, PHONE) == "opted_in"
    assert [e.action for e in consent_events(db, practice.id, PHONE)] == ["opt_in"]
    assert flags(client, practice) == []
    assert [f["status"] for f in flags(client, practice, "all")] == ["dismissed"]
    r = client.post(f"/api/v1/consent-flags/{flag['id']}/confirm", headers=practice.auth)
    assert r.status_code == 409


def test_a_stop_supersedes_open_flags(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "remove me from your list")
    text_in(client, practice, PHONE, "STOP")
    assert flags(client, practice) == []
    [flag] = flags(client, practice, "superseded")
    assert flag["resolved_by"] == "opt-out (keyword)"
    conv = conversation(db, practice.id, PHONE)
    assert conv is not None and not conv.needs_review


def test_no_flag_when_already_opted_out(client: TestClient) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, "seriously stop texting me")
    assert flags(client, practice, "all") == []


def test_overdue_flags_say_so(client: TestClient, clock: FrozenClock) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "no more texts")
    clock.advance(days=15)
    [flag] = flags(client, practice)
    assert flag["is_overdue"] is True


def test_flags_are_private_to_their_practice(client: TestClient) -> None:
    practice = make_practice(client, number="+14155550001")
    other = make_practice(client, name="Other", number="+14155550002")
    make_patient(client, practice)
    text_in(client, practice, PHONE, "stop texting me")
    [flag] = flags(client, practice)
    assert flags(client, other) == []
    for action in ("confirm", "dismiss"):
        r = client.post(f"/api/v1/consent-flags/{flag['id']}/{action}", headers=other.auth)
        assert r.status_code == 404 and r.json()["error"] == "flag_not_found"
    assert flags(client, practice)[0]["status"] == "open"


@pytest.mark.parametrize("path,method,payload,status,code", [
    ("/api/v1/consent-flags?status=bogus", "get", None, 422, "invalid_flag_status"),
    ("/api/v1/consent-flags/999/confirm", "post", None, 404, "flag_not_found"),
    ("/api/v1/consent-flags/999/dismiss", "post", {"note": 5}, 422, "invalid_request"),
])
def test_bad_flag_requests(client: TestClient, path: str, method: str, payload: object,
                           status: int, code: str) -> None:
    practice = make_practice(client)
    r = getattr(client, method)(path, headers=practice.auth,
                                **({"json": payload} if payload is not None else {}))
    assert r.status_code == status and r.json()["error"] == code
