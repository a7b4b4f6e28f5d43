"""Who answers STOP, over real HTTP with the simulated carrier playing both behaviours.

With the carrier owning keywords (Twilio's default) the carrier answers itself, tells textdesk
with OptOutType, and refuses texts to the phone (21610) until START; textdesk only records.
With textdesk owning them the carrier stays silent and textdesk's one confirmation arrives.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.e2e.conftest import LiveServer
from textdesk.storage.models import Message

PHONE = "+14155550123"


def text_in(live: LiveServer, practice_number: str, body: str) -> None:
    r = live.sim("POST", "/sim/inbound", json={"from": PHONE, "to": practice_number,
                                               "body": body})
    assert r.status_code == 200 and r.json()["status_code"] == 200, r.text


def carrier_create(live: LiveServer, from_: str, body: str) -> tuple[int, int | None]:
    """A text straight to the carrier's Messages API, as any sender of the account would."""
    path = f"/2010-04-01/Accounts/{live.settings.twilio_account_sid}/Messages.json"
    r = live.http.post(path, data={"To": PHONE, "From": from_, "Body": body},
                       auth=(live.settings.twilio_account_sid, live.settings.twilio_auth_token))
    return r.status_code, r.json().get("code")


def consent_state(live: LiveServer, practice: object, patient: dict[str, object]) -> str:
    r = live.http.get(f"/api/v1/patients/{patient['id']}/consent",
                      headers=practice.auth)  # type: ignore[attr-defined]
    return str(r.json()["state"])


def test_the_carrier_answers_stop_and_start_textdesk_records_them(live_server: LiveServer
                                                                  ) -> None:
    live = live_server
    practice = live.practice()  # keyword_replies: carrier, on both sides by default
    patient = live.patient(practice)

    text_in(live, practice.number, "STOP")
    replies = live.sim("GET", "/sim/auto-replies").json()
    assert [(r["opt_out_type"], r["to"]) for r in replies] == [("STOP", PHONE)]
    assert consent_state(live, practice, patient) == "opted_out"
    with live.db.transaction() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "inbound")).all()
        assert [m.carrier_keyword for m in inbound] == ["STOP"]  # OptOutType was read
    live.dispatcher.drain()
    assert live.sim("GET", "/sim/log", params={"to": PHONE}).json() == []  # no second answer
    assert carrier_create(live, practice.number, "Anything") == (400, 21610)

    text_in(live, practice.number, "START")
    assert consent_state(live, practice, patient) == "opted_in"
    assert [r["opt_out_type"] for r in live.sim("GET", "/sim/auto-replies").json()] == [
        "STOP", "START"]
    sent = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                    "body": "Your crown is ready."},
                          headers=practice.auth)
    assert sent.status_code == 201, sent.text
    live.wait_status(practice, sent.json()["id"], "delivered")
    assert [m["body"] for m in live.sim("GET", "/sim/log", params={"to": PHONE}).json()] == [
        "Your crown is ready."]


@pytest.mark.parametrize("body", ["STOP", "HELP"])
def test_with_textdesk_owning_keywords_its_one_answer_arrives(live_server: LiveServer,
                                                              body: str) -> None:
    live = live_server
    practice = live.practice(keyword_replies="textdesk")
    live.patient(practice)
    text_in(live, practice.number, body)
    assert live.sim("GET", "/sim/auto-replies").json() == []  # the carrier stays silent
    sent = live.wait_for(lambda: [m for m in live.sim("GET", "/sim/log",
                                                      params={"to": PHONE}).json()
                                  if m["status"] == "delivered"],
                         what="textdesk's answer delivered")
    live.dispatcher.drain()
    assert len(live.sim("GET", "/sim/log", params={"to": PHONE}).json()) == 1
    assert ("unsubscribed" if body == "STOP" else "for help") in sent[0]["body"]
