"""Confirmations (G3): by each keyword, by the signed link; never after an opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.automation.support import patient, template
from tests.automation.test_reminders import book, rule, texts
from tests.consent.support import text_in
from tests.helpers import Practice, make_practice
from textdesk.automation import reminders
from textdesk.carriers.twilio import TwilioCarrier
from textdesk.config import Settings
from textdesk.connector.dispatcher import Dispatcher
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

PHONE = "+12125550100"
ASK = "Hi {first_name}, please confirm {appt_date} at {appt_time}: reply C or tap {confirm_link}"


def appointment_of(client: TestClient, practice: Practice, appt: int) -> dict:
    return client.get(f"/api/v1/appointments/{appt}", headers=practice.auth).json()


def confirmations(client: TestClient, practice: Practice, appt: int) -> list[dict]:
    r = client.get(f"/api/v1/appointments/{appt}/confirmations", headers=practice.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture
def asked(client: TestClient, db: Database, clock: FrozenClock) -> tuple[Practice, int, int]:
    """A patient who got a confirmation request for tomorrow's appointment."""
    practice = make_practice(client)
    pid = patient(client, practice, PHONE, first_name="Ana")
    rule(client, practice, template(client, practice, ASK, "confirmation"), lead="2d")
    appt = book(client, practice, pid, "2026-03-03T15:00:00-05:00")
    reminders.run(db, clock.now())
    [request] = confirmations(client, practice, appt)
    assert request["status"] == "open" and request["message_id"]
    return practice, pid, appt


@pytest.mark.parametrize("reply", ["C", "Y", "YES", "CONFIRM", "c", "yes!", " Confirm. "])
def test_each_keyword_confirms(client: TestClient, clock: FrozenClock,
                               asked: tuple[Practice, int, int], reply: str) -> None:
    practice, _pid, appt = asked
    text_in(client, practice, PHONE, reply)
    assert appointment_of(client, practice, appt)["status"] == "confirmed"
    [request] = confirmations(client, practice, appt)
    assert request["status"] == "confirmed" and request["confirmed_via"] == "reply"
    assert request["confirmed_at"] == clock.now().isoformat()
    assert request["confirmed_by"] == "patient (text reply)" and request["answer_message_id"]


@pytest.mark.parametrize("reply", ["Yes please call me", "Maybe", "ok", "CC", "no"])
def test_other_replies_do_not_confirm(client: TestClient, asked: tuple[Practice, int, int],
                                      reply: str) -> None:
    practice, _pid, appt = asked
    text_in(client, practice, PHONE, reply)
    assert appointment_of(client, practice, appt)["status"] == "scheduled"
    assert confirmations(client, practice, appt)[0]["status"] == "open"


def test_yes_after_stop_opts_in_but_does_not_confirm(client: TestClient,
                                                     asked: tuple[Practice, int, int]) -> None:
    practice, pid, appt = asked
    text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, "YES")
    consent = client.get(f"/api/v1/patients/{pid}/consent", headers=practice.auth).json()
    assert consent["state"] == "opted_in"  # YES right after STOP is an opt-in (C4)
    assert appointment_of(client, practice, appt)["status"] == "scheduled"
    text_in(client, practice, PHONE, "C")  # now opted in: a C confirms
    assert appointment_of(client, practice, appt)["status"] == "confirmed"


def test_an_opted_out_phone_cannot_confirm(client: TestClient,
                                           asked: tuple[Practice, int, int]) -> None:
    practice, _pid, appt = asked
    text_in(client, practice, PHONE, "STOP")
    text_in(client, practice, PHONE, "C")
    assert appointment_of(client, practice, appt)["status"] == "scheduled"


def test_the_most_recent_open_request_is_confirmed(client: TestClient, db: Database,
                                                   clock: FrozenClock,
                                                   asked: tuple[Practice, int, int]) -> None:
    practice, pid, first = asked
    clock.advance(minutes=5)
    second = book(client, practice, pid, "2026-03-04T09:00:00-05:00")
    reminders.run(db, clock.now())
    text_in(client, practice, PHONE, "Y")
    assert appointment_of(client, practice, second)["status"] == "confirmed"
    assert appointment_of(client, practice, first)["status"] == "scheduled"
    text_in(client, practice, PHONE, "Y")
    assert appointment_of(client, practice, first)["status"] == "confirmed"


def test_a_cancelled_appointment_is_not_confirmed(client: TestClient,
                                                  asked: tuple[Practice, int, int]) -> None:
    practice, _pid, appt = asked
    client.post(f"/api/v1/appointments/{appt}/cancel", headers=practice.auth)
    text_in(client, practice, PHONE, "C")
    assert appointment_of(client, practice, appt)["status"] == "cancelled"
    assert confirmations(client, practice, appt)[0]["status"] == "closed"


def link_of(db: Database, appt: int) -> str:
    [text] = texts(db, appt)
    return text.body.rsplit("/c/", 1)[1]


def test_the_signed_link_confirms_with_a_button(client: TestClient, db: Database,
                                                asked: tuple[Practice, int, int]) -> None:
    practice, _pid, appt = asked
    token = link_of(db, appt)
    page = client.get(f"/c/{token}")
    assert page.status_code == 200 and "Tue Mar 3 at 3:00 PM" in page.text
    assert appointment_of(client, practice, appt)["status"] == "scheduled"  # a GET changes nothing
    done = client.post(f"/c/{token}")
    assert done.status_code == 200 and "data-state='confirmed'" in done.text
    assert appointment_of(client, practice, appt)["status"] == "confirmed"
    assert confirmations(client, practice, appt)[0]["confirmed_via"] == "link"
    assert client.post(f"/c/{token}").status_code == 200  # twice is once


def test_forged_and_expired_links_are_refused(client: TestClient, db: Database,
                                              clock: FrozenClock,
                                              asked: tuple[Practice, int, int]) -> None:
    practice, _pid, appt = asked
    token = link_of(db, appt)
    forged = token[:-1] + ("1" if token[-1] == "0" else "0")
    for bad in (forged, "c1-1-1.abc", "nonsense", token.replace("c", "r", 1)):
        r = client.post(f"/c/{bad}")
        assert r.status_code == 404 and "link_invalid" in r.text
    clock.set(datetime(2026, 3, 4, 5, 0, tzinfo=UTC))  # the day after the appointment
    r = client.get(f"/c/{token}")
    assert r.status_code == 410 and "link_expired" in r.text
    assert appointment_of(client, practice, appt)["status"] == "scheduled"


def test_recall_link_page_records_a_time_request(client: TestClient, db: Database,
                                                 clock: FrozenClock) -> None:
    from tests.automation.support import campaign, campaign_texts

    practice = make_practice(client)
    pid = patient(client, practice, PHONE, first_name="Ana")
    made = campaign(client, practice)
    [text] = campaign_texts(db, made["id"])
    token = text.body.rsplit("/r/", 1)[1]
    page = client.get(f"/r/{token}")
    assert page.status_code == 200 and "Hi Ana" in page.text and "Doe" not in page.text
    day = (clock.now() + timedelta(days=3)).date().isoformat()
    bad = client.post(f"/r/{token}", data={"preferred_day": day, "part_of_day": "midnight"})
    assert bad.status_code == 422 and "invalid_part_of_day" in bad.text
    assert client.get("/api/v1/recall-requests", headers=practice.auth).json() == []
    ok = client.post(f"/r/{token}", data={"preferred_day": day, "part_of_day": "morning",
                                          "note": "after school"})
    assert ok.status_code == 200 and "data-state='requested'" in ok.text
    [request] = client.get("/api/v1/recall-requests", headers=practice.auth).json()
    assert (request["patient_id"], request["preferred_day"], request["part_of_day"],
            request["note"]) == (pid, day, "morning", "after school")


def test_links_point_where_the_connector_serves_not_at_a_default_port(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    """`serve --port 9000` without TEXTDESK_PUBLIC_URL: the reminder the connector's scheduler
    sends carries a link on port 9000, the address the connector was started with."""
    practice = make_practice(client)
    pid = patient(client, practice, PHONE, first_name="Ana")
    rule(client, practice, template(client, practice, ASK, "confirmation"), lead="2d")
    appt = book(client, practice, pid, "2026-03-03T15:00:00-05:00")
    settings = Settings(database_url=db.url, public_url="http://127.0.0.1:9000")
    dispatcher = Dispatcher(db, TwilioCarrier("AC" + "0" * 32, "token", settings.public_url),
                            settings, clock=clock)
    dispatcher.scheduler.run_due()
    [text] = texts(db, appt)
    assert "http://127.0.0.1:9000/c/" in text.body
    assert "8000" not in text.body
