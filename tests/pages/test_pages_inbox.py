"""The inbox page: newest first, unread, filters, search, pages of 100, live rows, scoping."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import make_patient
from tests.pages.helpers import Desk, conversation_ids, desk, text_in
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Conversation


@pytest.fixture
def front(client: TestClient, db: Database, clock: FrozenClock) -> Desk:
    return desk(client, db, clock)


def _conversation_id(db: Database, phone: str) -> int:
    with db.transaction() as s:
        conv = s.query(Conversation).filter(Conversation.phone_e164 == phone).one()
        return conv.id


def test_new_texts_are_listed_newest_first_unread_and_bold(
        front: Desk, client: TestClient, clock: FrozenClock, db: Database) -> None:
    make_patient(client, front.practice, "(415) 555-0123", first_name="Ava")
    text_in(client, front.practice.number, "+14155550123", "Is my cleaning at 9?")
    clock.advance(minutes=1)
    text_in(client, front.practice.number, "+14155550177", "Who is this?")
    html = client.get("/inbox").text
    first, second = _conversation_id(db, "+14155550177"), _conversation_id(db, "+14155550123")
    assert conversation_ids(html) == [first, second]
    assert html.count('class="convo is-unread"') == 2 and html.count("1 unread") == 2
    assert "Ava Doe" in html and "Unmatched" in html
    assert 'id="unread-total" data-count="2"' in html


def test_opening_a_conversation_marks_it_read(front: Desk, client: TestClient,
                                              db: Database) -> None:
    text_in(client, front.practice.number, "+14155550123", "Hello")
    conv = _conversation_id(db, "+14155550123")
    assert client.get(f"/conversations/{conv}").status_code == 200
    html = client.get("/inbox").text
    assert 'class="is-unread"' not in html and 'data-count="0"' in html


@pytest.mark.parametrize(("view", "expected"), [
    ("all", {"+14155550123", "+14155550177", "+14155550188"}),
    ("unread", {"+14155550177", "+14155550188"}),
    ("patients", {"+14155550123"}),
    ("unmatched", {"+14155550177", "+14155550188"}),
    ("needs_review", {"+14155550188"}),
    ("leads", set()),
])
def test_filters(front: Desk, client: TestClient, db: Database, view: str,
                 expected: set[str]) -> None:
    make_patient(client, front.practice, "(415) 555-0123", first_name="Ava")
    for phone, body in (("+14155550123", "Hi"), ("+14155550177", "Who is this?"),
                        ("+14155550188", "please stop texting me")):
        text_in(client, front.practice.number, phone, body)
    client.get(f"/conversations/{_conversation_id(db, '+14155550123')}")  # read
    html = client.get(f"/inbox?view={view}").text
    ids = set(conversation_ids(html))
    assert ids == {_conversation_id(db, p) for p in expected}


@pytest.mark.parametrize(("query", "phones"), [
    ("ava", {"+14155550123"}), ("NGUYEN", {"+14155550123"}), ("ava ng", {"+14155550123"}),
    ("555-0177", {"+14155550177"}), ("(415) 555", {"+14155550123", "+14155550177"}),
    ("%", set()), ("_", set()),
])
def test_search_by_name_or_phone(front: Desk, client: TestClient, db: Database, query: str,
                                 phones: set[str]) -> None:
    r = client.post("/api/v1/patients", json={"first_name": "Ava", "last_name": "Nguyen",
                                              "wireless_phone": "(415) 555-0123"},
                    headers=front.practice.auth)
    assert r.status_code == 201
    text_in(client, front.practice.number, "+14155550123", "Hi")
    text_in(client, front.practice.number, "+14155550177", "Hello")
    html = client.get("/inbox", params={"q": query}).text
    assert set(conversation_ids(html)) == {_conversation_id(db, p) for p in phones}


def test_search_offers_patients_never_texted(front: Desk, client: TestClient) -> None:
    patient = make_patient(client, front.practice, "(415) 555-0140", first_name="Zed")
    html = client.get("/inbox", params={"q": "zed"}).text
    assert "Text Zed" in html and conversation_ids(html) == []
    r = client.post(f"/patients/{patient['id']}/conversation",
                    data={"csrf_token": front.csrf()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/conversations/")
    page = client.get(r.headers["location"])
    assert "Reply to Zed Doe" in page.text


def test_pages_of_one_hundred(front: Desk, client: TestClient, db: Database,
                              clock: FrozenClock) -> None:
    start = clock.now()
    with db.transaction() as s:
        for i in range(250):
            s.add(Conversation(practice_id=front.practice.id, phone_e164=f"+1415555{i:04d}",
                               last_message_at=start + timedelta(seconds=i), unread_count=0,
                               needs_review=False, is_shared_phone=False, is_blocked=False,
                               last_preview=f"text {i}"))
    first = client.get("/inbox").text
    assert len(conversation_ids(first)) == 100 and "250 conversations" in first
    assert "text 249" in first and 'rel="next"' in first and 'rel="prev"' not in first
    third = client.get("/inbox?page=3").text
    assert len(conversation_ids(third)) == 50 and "text 0<" in third.replace("</td>", "<")
    assert 'rel="next"' not in third and 'rel="prev"' in third
    every = set()
    for page in (1, 2, 3):
        every |= set(conversation_ids(client.get(f"/inbox?page={page}").text))
    assert len(every) == 250


def test_live_rows_answer_204_until_a_text_arrives(front: Desk, client: TestClient) -> None:
    text_in(client, front.practice.number, "+14155550123", "First")
    first = client.get("/inbox/rows")
    assert first.status_code == 200
    stamp = first.headers["x-inbox-stamp"]
    same = client.get("/inbox/rows", params={"since": stamp})
    assert same.status_code == 204 and same.headers["x-unread-total"] == "1"
    text_in(client, front.practice.number, "+14155550199", "Second number")
    changed = client.get("/inbox/rows", params={"since": stamp})
    assert changed.status_code == 200 and "Second number" in changed.text
    assert changed.headers["x-unread-total"] == "2"
    assert changed.headers["x-inbox-stamp"] != stamp


def test_another_practice_sees_nothing_of_this_one(front: Desk, client: TestClient,
                                                   db: Database, clock: FrozenClock) -> None:
    text_in(client, front.practice.number, "+14155550123", "Private")
    mine = _conversation_id(db, "+14155550123")
    client.cookies.clear()
    desk(client, db, clock, name="Other Dental", number="+15005550010",
         email="other@example.com")
    html = client.get("/inbox").text
    assert "Private" not in html and conversation_ids(html) == []
    assert client.get(f"/conversations/{mine}").status_code == 404
    assert client.get(f"/conversations/{mine}/thread").status_code == 404
    assert client.get("/inbox", params={"q": "555-0123"}).text.count("Private") == 0


@pytest.mark.parametrize("query", ["view=everything", "page=0"])
def test_bad_inbox_parameters_get_a_clear_error(front: Desk, client: TestClient,
                                                query: str) -> None:
    r = client.get(f"/inbox?{query}")
    assert r.status_code in (400, 422) and "invalid" in r.text


def test_the_new_text_picker_finds_a_patient_by_date_of_birth(
        front: Desk, client: TestClient) -> None:
    ava = make_patient(client, front.practice, "(415) 555-0123", first_name="Ava")
    ben = make_patient(client, front.practice, "(415) 555-0124", first_name="Ben")
    for who, born in ((ava, "1984-03-07"), (ben, "1990-11-20")):
        r = client.patch(f"/api/v1/patients/{who['id']}", json={"birthdate": born},
                         headers=front.practice.auth)
        assert r.status_code == 200 and r.json()["birthdate"] == born, r.text
    found = client.get("/new/results", params={"who": "3/7/1984"}).text
    assert "Ava Doe" in found and "born 3/7/1984" in found and "Ben" not in found
    assert "Nobody matches" in client.get("/new/results", params={"who": "3/8/1984"}).text
