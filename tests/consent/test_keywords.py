"""Keywords through the signed inbound webhook: STOP, START, YES, HELP and ordinary replies."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pytest
from fastapi.testclient import TestClient

from tests import helpers
from tests.consent.support import (
    answers_to,
    consent_events,
    consent_state,
    messages_with,
    send_manual,
    text_in,
)
from tests.helpers import ADMIN, make_patient
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch
from textdesk.storage.db import Database

# These tests are about textdesk's own keyword answers: the carrier's are off on the
# practice's number (`keyword_replies=textdesk`).
make_practice = partial(helpers.make_practice, keyword_replies="textdesk")

PHONE = "+14155550123"


def can_text(client: TestClient, practice, patient_id: int) -> dict:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/patients/{patient_id}/can-text", headers=practice.auth)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def test_stop_opts_out_cancels_pending_and_confirms_once(client: TestClient, db: Database,
                                                         clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    waiting = [send_manual(client, practice, patient["id"], f"Reminder {i}") for i in range(3)]
    stop = text_in(client, practice, PHONE, "STOP")

    inbound = messages_with(db, practice.id, PHONE, direction="inbound")
    assert [m.carrier_sid for m in inbound] == [stop["MessageSid"]]
    events = consent_events(db, practice.id, PHONE)
    assert [(e.action, e.scope, e.source, e.evidence_message_id, e.at) for e in events][-1] == (
        "opt_out", "all", "keyword", inbound[0].id, clock.now())
    assert events[-1].patient_id == patient["id"]
    assert consent_state(client, practice, PHONE) == "opted_out"
    verdict = can_text(client, practice, patient["id"])
    assert not verdict["can_text"]
    assert [b["code"] for b in verdict["blockers"]] == ["opted_out"]

    for queued in waiting:
        got = client.get(f"/api/v1/messages/{queued['id']}", headers=practice.auth).json()
        assert (got["status"], got["canceled_reason"]) == ("canceled", "opted_out")
    answers = answers_to(db, practice.id, PHONE)
    assert len(answers) == 1
    confirmation = answers[0]
    assert (confirmation.status, confirmation.from_e164, confirmation.to_e164) == (
        "pending", practice.number, PHONE)
    assert "unsubscribed" in confirmation.body and "Test Dental" in confirmation.body
    assert "START" in confirmation.body

    # The connector takes the confirmation, and only it, although the phone is opted out.
    jobs = dispatch.claim(db, "c1", clock.now(), dispatch.DispatchPolicy())
    assert [j.id for j in jobs] == [confirmation.id]


@pytest.mark.parametrize("body", ["Stop", " stop. ", "STOP!!", "opt-out", "Opt Out",
                                  "unsubscribe", "QUIT", "end", "Cancel", "revoke", "STOPALL"])
def test_every_stop_variant_opts_out(client: TestClient, db: Database, body: str) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, body)
    assert consent_state(client, practice, PHONE) == "opted_out"
    assert len(answers_to(db, practice.id, PHONE)) == 1


@pytest.mark.parametrize("body", ["stop by tomorrow?", "don't stop", "Can I stop by at 3?",
                                  "the end", "Cancel my appointment"])
def test_texts_that_only_contain_a_stop_word_change_nothing(client: TestClient, db: Database,
                                                            body: str) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    queued = send_manual(client, practice, patient["id"])
    text_in(client, practice, PHONE, body)
    assert consent_state(client, practice, PHONE) == "opted_in"
    assert answers_to(db, practice.id, PHONE) == []
    got = client.get(f"/api/v1/messages/{queued['id']}", headers=practice.auth).json()
    assert got["status"] == "pending"
    assert client.get("/api/v1/consent-flags", headers=practice.auth).json() == []


@pytest.mark.parametrize("body", ["START", "unstop", "Yes", "YES!"])
def test_start_unstop_or_yes_after_an_opt_out_opt_back_in(client: TestClient, db: Database,
                                                          body: str) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, body)
    assert consent_state(client, practice, PHONE) == "opted_in"
    assert can_text(client, practice, patient["id"])["can_text"]
    answers = answers_to(db, practice.id, PHONE)
    assert len(answers) == 2 and "resubscribed" in answers[1].body
    last = consent_events(db, practice.id, PHONE)[-1]
    assert (last.action, last.source) == ("opt_in", "keyword")


def test_yes_without_an_opt_out_is_an_ordinary_reply(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice, opted_in=False)
    text_in(client, practice, PHONE, "YES")
    assert consent_state(client, practice, PHONE) == "none"
    assert consent_events(db, practice.id, PHONE) == []
    assert answers_to(db, practice.id, PHONE) == []


def test_start_opts_in_a_phone_with_no_consent(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice, opted_in=False)
    text_in(client, practice, PHONE, "START")
    assert consent_state(client, practice, PHONE) == "opted_in"
    assert len(answers_to(db, practice.id, PHONE)) == 1


@pytest.mark.parametrize("body", ["Thanks", "ok", "C", "Yes, 9 works", "start time?",
                                  "I want texts again", "Please text me", "STARTING"])
def test_an_ordinary_reply_does_not_re_opt_in(client: TestClient, db: Database,
                                              body: str) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, body)
    assert consent_state(client, practice, PHONE) == "opted_out"
    assert [b["code"] for b in can_text(client, practice, patient["id"])["blockers"]] == [
        "opted_out"]
    assert len(answers_to(db, practice.id, PHONE)) == 1  # only the STOP confirmation


@pytest.mark.parametrize("body", ["HELP", "help?", "INFO"])
def test_help_answers_name_phone_and_opt_out_without_changing_consent(
        client: TestClient, db: Database, body: str) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, body)
    assert consent_state(client, practice, PHONE) == "opted_in"
    [answer] = answers_to(db, practice.id, PHONE)
    assert "Test Dental" in answer.body
    assert "(415) 555-0100" in answer.body  # the clinic's phone
    assert "STOP" in answer.body


def test_help_after_an_opt_out_is_still_answered_and_leaves(client: TestClient, db: Database,
                                                            clock: FrozenClock) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, "HELP")
    assert consent_state(client, practice, PHONE) == "opted_out"
    answers = answers_to(db, practice.id, PHONE)
    assert len(answers) == 2
    jobs = dispatch.claim(db, "c1", clock.now(), dispatch.DispatchPolicy())
    assert sorted(j.id for j in jobs) == sorted(a.id for a in answers)


def test_a_second_stop_gets_its_own_confirmation(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, "stop")
    answers = answers_to(db, practice.id, PHONE)
    # Each STOP text is confirmed once (as carriers do); a later STOP cancels nothing of it.
    assert [(a.status, "unsubscribed" in a.body) for a in answers] == [("pending", True)] * 2
    assert len(consent_events(db, practice.id, PHONE)) == 3  # opt-in, opt-out, opt-out


def test_the_same_stop_delivered_twice_acts_once(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    first = text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, "STOP", sid=first["MessageSid"])
    assert len(messages_with(db, practice.id, PHONE, direction="inbound")) == 1
    assert [e.action for e in consent_events(db, practice.id, PHONE)] == ["opt_in", "opt_out"]
    assert len(answers_to(db, practice.id, PHONE)) == 1


def test_confirmation_goes_from_the_number_the_patient_texted(client: TestClient,
                                                              db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    clinic = client.post("/api/v1/clinics", json={"name": "North", "phone": "+14155550199"},
                         headers=practice.auth).json()
    other = client.post(f"/api/v1/clinics/{clinic['id']}/numbers",
                        json={"e164": "+14155550177", "kind": "local"},
                        headers=practice.auth).json()
    client.put(f"/api/v1/admin/numbers/{other['id']}/registration",
               json={"status": "approved"}, headers=ADMIN)
    client.patch(f"/api/v1/numbers/{other['id']}", json={"keyword_replies": "textdesk"},
                 headers=practice.auth)
    text_in(client, practice, PHONE, "HELP", to="+14155550177")
    text_in(client, practice, PHONE, "STOP", to="+14155550177")
    answers = answers_to(db, practice.id, PHONE)
    assert {a.from_e164 for a in answers} == {"+14155550177"}
    assert "(415) 555-0199" in answers[0].body  # that clinic's phone


def test_opt_out_is_per_practice(client: TestClient, db: Database) -> None:
    first = make_practice(client, name="First Dental", number="+14155550001")
    second = make_practice(client, name="Second Dental", number="+14155550002")
    make_patient(client, first)
    make_patient(client, second)
    text_in(client, first, PHONE, "STOP")
    assert consent_state(client, first, PHONE) == "opted_out"
    assert consent_state(client, second, PHONE) == "opted_in"


def test_consent_history_is_readable_in_order(client: TestClient, clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    clock.advance(minutes=5)
    text_in(client, practice, PHONE, "STOP")
    clock.advance(minutes=5)
    text_in(client, practice, PHONE, "START")
    history = client.get(f"/api/v1/patients/{patient['id']}/consent",
                         headers=practice.auth).json()["history"]
    assert [(h["action"], h["source"]) for h in history] == [
        ("opt_in", "verbal"), ("opt_out", "keyword"), ("opt_in", "keyword")]
    assert history[1]["evidence_message_id"] is not None
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)
    assert datetime.fromisoformat(history[2]["at"]) == clock.now().astimezone(UTC)
