"""Exactly one party answers STOP / START / HELP: the carrier (Twilio's default) or textdesk.

Every case goes through the signed inbound webhook, and each text is delivered 20 times (a
carrier's retries): it acts once, and the patient gets one answer, never two.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.consent.support import (
    WEBHOOK,
    answers_to,
    consent_events,
    consent_state,
    inbound_params,
    signed_headers,
)
from tests.helpers import Practice, make_patient, make_practice
from textdesk.storage.db import Database

PHONE = "+14155550123"
REPLAYS = 20


def deliver(client: TestClient, practice: Practice, body: str,
            opt_out_type: str | None = None, times: int = REPLAYS) -> dict[str, str]:
    """One patient text, as the carrier sends it (OptOutType when given), `times` times."""
    params = inbound_params(practice.number, PHONE, body)
    if opt_out_type is not None:
        params["OptOutType"] = opt_out_type
    headers = signed_headers("http://testserver", params)
    for _ in range(times):
        r = client.post(WEBHOOK, data=params, headers=headers)
        assert r.status_code == 200, r.text
    return params


def keyword_events(db: Database, practice: Practice) -> list[tuple[str, str]]:
    return [(e.action, e.source) for e in consent_events(db, practice.id, PHONE)
            if e.source == "keyword"]


def test_a_new_number_leaves_keywords_to_the_carrier(client: TestClient) -> None:
    practice = make_practice(client)
    numbers = client.get("/api/v1/numbers", headers=practice.auth).json()
    assert [n["keyword_replies"] for n in numbers] == ["carrier"]


@pytest.mark.parametrize("opt_out_type", ["STOP", None])  # Advanced Opt-Out, or the default
def test_carrier_stop_is_recorded_once_and_textdesk_sends_no_confirmation(
        client: TestClient, db: Database, opt_out_type: str | None) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    deliver(client, practice, "STOP", opt_out_type)
    assert keyword_events(db, practice) == [("opt_out", "keyword")]
    assert consent_state(client, practice, PHONE) == "opted_out"
    assert answers_to(db, practice.id, PHONE) == []  # the carrier confirmed it, not us


def test_textdesk_stop_is_recorded_once_and_confirmed_once(client: TestClient,
                                                          db: Database) -> None:
    practice = make_practice(client, keyword_replies="textdesk")
    make_patient(client, practice)
    deliver(client, practice, "STOP")
    assert keyword_events(db, practice) == [("opt_out", "keyword")]
    answers = answers_to(db, practice.id, PHONE)
    assert len(answers) == 1 and "unsubscribed" in answers[0].body


@pytest.mark.parametrize(("owner", "answers"), [("carrier", 0), ("textdesk", 1)])
def test_help_is_answered_by_its_owner_only(client: TestClient, db: Database, owner: str,
                                            answers: int) -> None:
    practice = make_practice(client, keyword_replies=owner)
    make_patient(client, practice)
    deliver(client, practice, "HELP", "HELP" if owner == "carrier" else None)
    sent = answers_to(db, practice.id, PHONE)
    assert len(sent) == answers
    assert all("for help" in m.body for m in sent)
    assert keyword_events(db, practice) == []  # consent unchanged


@pytest.mark.parametrize(("owner", "answers"), [("carrier", 0), ("textdesk", 1)])
def test_start_after_stop_opts_in_answered_by_its_owner_only(
        client: TestClient, db: Database, owner: str, answers: int) -> None:
    practice = make_practice(client, keyword_replies=owner)
    make_patient(client, practice)
    carrier = owner == "carrier"
    deliver(client, practice, "STOP", "STOP" if carrier else None)
    deliver(client, practice, "START", "START" if carrier else None)
    assert keyword_events(db, practice) == [("opt_out", "keyword"), ("opt_in", "keyword")]
    assert consent_state(client, practice, PHONE) == "opted_in"
    assert len(answers_to(db, practice.id, PHONE)) == 2 * answers


def test_a_stop_word_only_the_carrier_knows_is_an_opt_out_here_too(client: TestClient,
                                                                  db: Database) -> None:
    """Advanced Opt-Out may add words (ARRET, BAJA …): OptOutType=STOP is an opt-out."""
    practice = make_practice(client)
    make_patient(client, practice)
    deliver(client, practice, "ARRET", "STOP")
    assert keyword_events(db, practice) == [("opt_out", "keyword")]
    assert answers_to(db, practice.id, PHONE) == []


def test_a_stop_word_the_carrier_does_not_answer_gets_textdesks_answer(
        client: TestClient, db: Database) -> None:
    """REVOKE is a stop word here but not one Twilio answers: without textdesk's
    confirmation the patient would get none."""
    practice = make_practice(client)
    make_patient(client, practice)
    deliver(client, practice, "REVOKE")
    assert keyword_events(db, practice) == [("opt_out", "keyword")]
    answers = answers_to(db, practice.id, PHONE)
    assert len(answers) == 1 and "unsubscribed" in answers[0].body


def test_yes_the_carrier_calls_start_stays_an_ordinary_reply(client: TestClient,
                                                             db: Database) -> None:
    """Twilio counts YES as START; here YES opts in only right after an opt-out (C4)."""
    practice = make_practice(client)
    make_patient(client, practice, opted_in=False)
    deliver(client, practice, "YES", "START", times=1)
    assert keyword_events(db, practice) == []
    assert consent_state(client, practice, PHONE) == "none"


@pytest.mark.parametrize(("changes", "code"), [
    ({"keyword_replies": "both"}, "invalid_keyword_replies"),
    ({"keyword_replies": None}, "invalid_keyword_replies"),
    ({"messaging_service_sid": "MG123"}, "invalid_messaging_service_sid"),
    ({"messaging_service_sid": "SM" + "a" * 32}, "invalid_messaging_service_sid"),
    ({"takes_replies": "yes"}, "invalid_takes_replies"),
    ({"colour": "red"}, "unknown_field"),
])
def test_a_bad_number_setting_changes_nothing(client: TestClient, changes: dict[str, object],
                                              code: str) -> None:
    practice = make_practice(client)
    r = client.patch(f"/api/v1/numbers/{practice.number_id}", json=changes,
                     headers=practice.auth)
    assert r.status_code in (400, 422) and r.json()["error"] == code, r.text
    number = client.get("/api/v1/numbers", headers=practice.auth).json()[0]
    assert (number["keyword_replies"], number["messaging_service_sid"]) == ("carrier", None)


def test_another_practices_number_is_not_found(client: TestClient) -> None:
    first = make_practice(client, name="First", number="+14155550001")
    second = make_practice(client, name="Second", number="+14155550002")
    r = client.patch(f"/api/v1/numbers/{first.number_id}", json={"keyword_replies": "textdesk"},
                     headers=second.auth)
    assert r.status_code == 404 and r.json()["error"] == "number_not_found"
