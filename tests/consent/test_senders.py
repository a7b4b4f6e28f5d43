"""Blocked senders (F6), lines that take no replies (G5), and an opt-out's last word."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests import helpers
from tests.consent.support import (
    answers_to,
    commlogs_of_message,
    consent_state,
    conversation,
    messages_with,
    text_in,
)
from tests.helpers import make_patient
from textdesk.domain.messages import MessageKind
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import replies
from textdesk.messaging.service import queue_message
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import Message

# These tests are about textdesk's own keyword answers: the carrier's are off on the
# practice's number (`keyword_replies=textdesk`).
make_practice = partial(helpers.make_practice, keyword_replies="textdesk")

PHONE = "+14155550123"


def block(client: TestClient, practice, phone: str, blocked: bool = True) -> dict:  # type: ignore[no-untyped-def]
    r = client.post(f"/api/v1/senders/{'block' if blocked else 'unblock'}",
                    json={"phone": phone}, headers=practice.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_blocked_sender_texts_are_dropped_unseen(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    view = block(client, practice, "(415) 555-0123")
    assert (view["phone"], view["is_blocked"]) == (PHONE, True)
    assert client.get("/api/v1/senders/blocked", headers=practice.auth).json() == [view]

    for body in ("hello?", "HELP", "please stop texting me", "START"):
        text_in(client, practice, PHONE, body)
    inbound = messages_with(db, practice.id, PHONE, direction="inbound")
    assert len(inbound) == 4 and all(m.is_read for m in inbound)  # stored, never shown
    assert all(commlogs_of_message(db, m.id) == [] for m in inbound)
    conv = conversation(db, practice.id, PHONE)
    assert conv is not None and conv.unread_count == 0 and not conv.needs_review
    assert answers_to(db, practice.id, PHONE) == []
    assert client.get("/api/v1/consent-flags", headers=practice.auth).json() == []
    assert consent_state(client, practice, PHONE) == "opted_in"  # START did nothing either


def test_a_blocked_senders_stop_still_opts_out_silently(client: TestClient,
                                                       db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    block(client, practice, PHONE)
    text_in(client, practice, PHONE, "STOP")
    assert consent_state(client, practice, PHONE) == "opted_out"
    assert answers_to(db, practice.id, PHONE) == []


def test_unblocked_sender_is_seen_again(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    block(client, practice, PHONE)
    text_in(client, practice, PHONE, "spam")
    assert block(client, practice, PHONE, blocked=False)["is_blocked"] is False
    assert client.get("/api/v1/senders/blocked", headers=practice.auth).json() == []
    text_in(client, practice, PHONE, "HELP")
    conv = conversation(db, practice.id, PHONE)
    assert conv is not None and conv.unread_count == 1
    assert len(answers_to(db, practice.id, PHONE)) == 1


def test_blocking_an_unknown_number_and_a_short_code(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    block(client, practice, "+14155550999")
    text_in(client, practice, "+14155550999", "buy now")
    conv = conversation(db, practice.id, "+14155550999")
    assert conv is not None and conv.is_blocked and conv.unread_count == 0


@pytest.mark.parametrize("payload", [{}, {"phone": ""}, {"phone": "call me"}, {"phone": 5}])
def test_bad_block_requests(client: TestClient, payload: dict) -> None:  # type: ignore[type-arg]
    practice = make_practice(client)
    r = client.post("/api/v1/senders/block", json=payload, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] in ("invalid_phone", "invalid_request")


# --- G5: a line that takes no replies -------------------------------------------------------

def no_replies(client: TestClient, practice) -> None:  # type: ignore[no-untyped-def]
    r = client.patch(f"/api/v1/numbers/{practice.number_id}", json={"takes_replies": False},
                     headers=practice.auth)
    assert r.status_code == 200 and r.json()["takes_replies"] is False


def test_unmonitored_line_answers_once_a_day(client: TestClient, db: Database,
                                             clock: FrozenClock) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    no_replies(client, practice)
    text_in(client, practice, PHONE, "Can I move my appointment?")
    text_in(client, practice, PHONE, "Hello??")
    [answer] = answers_to(db, practice.id, PHONE)
    assert "does not take replies" in answer.body and "(415) 555-0100" in answer.body
    assert answer.from_e164 == practice.number
    clock.advance(hours=23)
    text_in(client, practice, PHONE, "anyone?")
    assert len(answers_to(db, practice.id, PHONE)) == 1
    clock.advance(hours=2)
    text_in(client, practice, PHONE, "still there?")
    assert len(answers_to(db, practice.id, PHONE)) == 2


def test_unmonitored_line_still_honours_keywords_without_a_second_answer(
        client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    no_replies(client, practice)
    text_in(client, practice, PHONE, "STOP")
    [confirmation] = answers_to(db, practice.id, PHONE)
    assert "unsubscribed" in confirmation.body
    text_in(client, practice, PHONE, "why did you text me")  # opted out: no answer at all
    assert len(answers_to(db, practice.id, PHONE)) == 1
    assert consent_state(client, practice, PHONE) == "opted_out"


def test_a_line_that_takes_replies_says_nothing(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "Can I move my appointment?")
    assert answers_to(db, practice.id, PHONE) == []


@pytest.mark.parametrize("payload,status,code", [
    ({"takes_replies": "no"}, 422, "invalid_takes_replies"),
    ({"kind": "toll_free"}, 400, "unknown_field"),  # as for patients
    ({"takes_replies": None}, 422, "invalid_takes_replies"),
    ([True], 422, "invalid_request"),
])
def test_bad_number_changes_change_nothing(client: TestClient, payload: object, status: int,
                                           code: str) -> None:
    practice = make_practice(client)
    r = client.patch(f"/api/v1/numbers/{practice.number_id}", json=payload,
                     headers=practice.auth)
    assert r.status_code == status and r.json()["error"] == code
    [number] = client.get("/api/v1/numbers", headers=practice.auth).json()
    assert (number["takes_replies"], number["kind"]) == (True, "local")


def test_another_practices_number_is_not_found(client: TestClient) -> None:
    practice = make_practice(client, number="+14155550001")
    other = make_practice(client, name="Other", number="+14155550002")
    r = client.patch(f"/api/v1/numbers/{practice.number_id}", json={"takes_replies": False},
                     headers=other.auth)
    assert r.status_code == 404 and r.json()["error"] == "number_not_found"


# --- an opt-out has the last word over other reactions ---------------------------------------

@pytest.fixture
def chatty_reaction() -> Iterator[None]:
    """Another reaction that answers every text (as a lead redirect or a confirmation would)."""
    def answer_everything(session: Session, message: Message, now: datetime) -> None:
        practice = practice_store.get_practice(session, message.practice_id)
        assert practice is not None
        queue_message(session, practice, to_e164=message.from_e164, from_e164=message.to_e164,
                      number_id=message.number_id, clinic_id=message.clinic_id,
                      body="Thanks, we got your text.", kind=MessageKind.SYSTEM, now=now,
                      actor="someone-else")

    replies.REACTIONS.append(answer_everything)
    try:
        yield
    finally:
        replies.REACTIONS.remove(answer_everything)


@pytest.mark.usefixtures("chatty_reaction")
def test_after_a_stop_only_its_confirmation_leaves(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    text_in(client, practice, PHONE, "hello")
    text_in(client, practice, PHONE, "STOP")
    answers = answers_to(db, practice.id, PHONE)
    assert [(a.created_by, a.status, a.cancel_reason) for a in answers] == [
        ("someone-else", "canceled", "opted_out"),  # the earlier answer, still waiting
        ("auto:opted_out", "pending", None),
        ("someone-else", "canceled", "opted_out"),  # queued by a later reaction
    ]
