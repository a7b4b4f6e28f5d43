"""The consent record itself: append-only history, carrier-reported opt-outs, shared phones."""

from __future__ import annotations

from datetime import datetime
from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests import helpers
from tests.consent.support import (
    answers_to,
    commlogs_of_message,
    consent_events,
    consent_state,
    conversation,
    messages_with,
    send_manual,
    signed_headers,
    text_in,
)
from tests.helpers import make_patient
from textdesk.carriers.base import Accepted
from textdesk.consent.store.consent import AppendOnlyError
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch
from textdesk.storage.db import Database
from textdesk.storage.models import ConsentEvent

# These tests are about textdesk's own keyword answers: the carrier's are off on the
# practice's number (`keyword_replies=textdesk`).
make_practice = partial(helpers.make_practice, keyword_replies="textdesk")

PHONE = "+14155550123"


def _one_event_id(db: Database) -> int:
    with db.transaction() as s:
        event_id = s.scalar(select(ConsentEvent.id).limit(1))
    assert event_id is not None
    return event_id


def _seed_event(client: TestClient) -> None:
    practice = make_practice(client)
    make_patient(client, practice)


def test_orm_refuses_to_update_or_delete_history(client: TestClient, db: Database) -> None:
    _seed_event(client)
    event_id = _one_event_id(db)
    with pytest.raises(AppendOnlyError), db.transaction() as s:
        event = s.get(ConsentEvent, event_id)
        assert event is not None
        event.action = "opt_out"
        s.flush()
    with pytest.raises(AppendOnlyError), db.transaction() as s:
        s.delete(s.get(ConsentEvent, event_id))
        s.flush()
    with db.transaction() as s:
        event = s.get(ConsentEvent, event_id)
        assert event is not None and event.action == "opt_in"


@pytest.mark.parametrize("statement", [
    "UPDATE consent_events SET action = 'opt_out'",
    "UPDATE consent_events SET note = 'edited' WHERE id = :id",
    "DELETE FROM consent_events WHERE id = :id",
    "DELETE FROM consent_events",
])
def test_database_refuses_raw_updates_and_deletes(client: TestClient, db: Database,
                                                  statement: str) -> None:
    _seed_event(client)
    event_id = _one_event_id(db)
    with pytest.raises(DBAPIError) as caught, db.engine.begin() as conn:
        conn.execute(text(statement), {"id": event_id})
    assert "append-only" in str(caught.value)
    with db.transaction() as s:
        event = s.get(ConsentEvent, event_id)
        assert event is not None and (event.action, event.note) == ("opt_in", None)


def test_postgresql_trigger_refuses_raw_updates_and_deletes(pg_db: Database) -> None:
    """Always on PostgreSQL, whatever TEXTDESK_TEST_DB says: the database's own guard."""
    from tests.conftest import ADMIN_TOKEN
    from textdesk.config import Settings
    from textdesk.kit.clock import FrozenClock as Clock
    from textdesk.web.app import create_app

    settings = Settings(database_url=pg_db.url, admin_token=ADMIN_TOKEN,
                        public_url="http://testserver")
    with TestClient(create_app(settings, pg_db, Clock(datetime.fromisoformat(
            "2026-03-02T15:00:00+00:00")))) as client:
        _seed_event(client)
    event_id = _one_event_id(pg_db)
    for statement in ("UPDATE consent_events SET action = 'opt_out' WHERE id = :id",
                      "DELETE FROM consent_events WHERE id = :id"):
        with pytest.raises(DBAPIError) as caught, pg_db.engine.begin() as conn:
            conn.execute(text(statement), {"id": event_id})
        assert "append-only" in str(caught.value)
    with pg_db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM consent_events")).scalar() == 1


def _sent_to(client: TestClient, db: Database, practice, patient_id: int,  # type: ignore[no-untyped-def]
             clock: FrozenClock, sid: str) -> int:
    queued = send_manual(client, practice, patient_id)
    [job] = dispatch.claim(db, "c1", clock.now(), dispatch.DispatchPolicy())
    dispatch.record_accepted(db, [(job, Accepted(sid, "queued"))], clock.now())
    return int(queued["id"])


@pytest.mark.parametrize("error_code", ["21610", "30004"])
def test_carrier_reported_opt_out_is_recorded(client: TestClient, db: Database,
                                              clock: FrozenClock, error_code: str) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    sid = f"SM{int(error_code):032x}"
    message_id = _sent_to(client, db, practice, patient["id"], clock, sid)
    waiting = send_manual(client, practice, patient["id"], "Another one")
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": error_code,
              "To": PHONE, "From": practice.number}
    url = "/webhooks/twilio/status"
    r = client.post(url, data=params, headers=signed_headers("http://testserver", params, url))
    assert r.status_code in (200, 204), r.text

    last = consent_events(db, practice.id, PHONE)[-1]
    assert (last.action, last.scope, last.source, last.evidence_message_id) == (
        "opt_out", "all", "carrier", message_id)
    assert consent_state(client, practice, PHONE) == "opted_out"
    got = client.get(f"/api/v1/messages/{waiting['id']}", headers=practice.auth).json()
    assert (got["status"], got["canceled_reason"]) == ("canceled", "opted_out")
    failed = client.get(f"/api/v1/messages/{message_id}", headers=practice.auth).json()
    assert failed["failure"]["cause"] == "recipient_opted_out"
    assert answers_to(db, practice.id, PHONE) == []  # the carrier already told the patient


def test_shared_phone_text_is_linked_to_every_patient_and_opt_out_covers_them_all(
        client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    mother = make_patient(client, practice, first_name="Ann")
    son = make_patient(client, practice, first_name="Ben")
    other = make_patient(client, practice, "(415) 555-0124", first_name="Cal")
    text_in(client, practice, PHONE, "Running 5 min late")
    [inbound] = messages_with(db, practice.id, PHONE, direction="inbound")
    assert sorted(c.patient_id for c in commlogs_of_message(db, inbound.id)) == sorted(
        [mother["id"], son["id"]])
    conv = conversation(db, practice.id, PHONE)
    assert conv is not None and conv.is_shared_phone

    text_in(client, practice, PHONE, "STOP")
    for patient in (mother, son):
        verdict = client.get(f"/api/v1/patients/{patient['id']}/can-text",
                             headers=practice.auth).json()
        assert [b["code"] for b in verdict["blockers"]] == ["opted_out"]
    assert client.get(f"/api/v1/patients/{other['id']}/can-text",
                      headers=practice.auth).json()["can_text"]
    assert len(answers_to(db, practice.id, PHONE)) == 1  # one phone, one confirmation


def test_unknown_number_becomes_unmatched_and_its_stop_still_counts(client: TestClient,
                                                                   db: Database) -> None:
    practice = make_practice(client)
    stranger = "+14155550999"
    text_in(client, practice, stranger, "who is this?")
    conv = conversation(db, practice.id, stranger)
    assert conv is not None and conv.patient_id is None and conv.unread_count == 1
    text_in(client, practice, stranger, "STOP")
    assert consent_state(client, practice, stranger) == "opted_out"
    assert len(answers_to(db, practice.id, stranger)) == 1
    # A patient later entered with that phone is opted out from the start.
    patient = make_patient(client, practice, "(415) 555-0999", opted_in=False)
    verdict = client.get(f"/api/v1/patients/{patient['id']}/can-text",
                         headers=practice.auth).json()
    assert [b["code"] for b in verdict["blockers"]] == ["opted_out"]


def test_staff_consent_after_stop_is_freshly_recorded_consent(client: TestClient) -> None:
    """C4: freshly recorded consent (a signed form, say) opts back in; it is on the record."""
    practice = make_practice(client)
    patient = make_patient(client, practice)
    text_in(client, practice, PHONE, "STOP")
    r = client.post(f"/api/v1/patients/{patient['id']}/consent",
                    json={"action": "opt_in", "scope": "all", "source": "web_form",
                          "note": "signed form at the front desk"}, headers=practice.auth)
    assert r.status_code == 201
    assert [h["source"] for h in r.json()["history"]] == ["verbal", "keyword", "web_form"]
    assert consent_state(client, practice, PHONE) == "opted_in"


@pytest.mark.parametrize("phone", ["", "not a phone", "+"])
def test_consent_lookup_rejects_bad_phones(client: TestClient, phone: str) -> None:
    practice = make_practice(client)
    r = client.get("/api/v1/consent", params={"phone": phone}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "invalid_phone"
