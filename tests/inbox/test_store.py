"""Inbox queries and the conversation view: stamps that move, and each text's why."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import make_patient, make_practice
from tests.pages.helpers import text_in
from textdesk.inbox import service as inbox_service, store as inbox_store
from textdesk.kit.clock import FrozenClock
from textdesk.practice import diagnostics
from textdesk.storage.db import Database
from textdesk.storage.models import Conversation, Message

PHONE = "+14155550123"


def test_the_stamp_moves_on_each_text_and_each_read(client: TestClient, db: Database,
                                                    clock: FrozenClock) -> None:
    practice = make_practice(client)
    with db.transaction() as s:
        empty = inbox_store.inbox_stamp(s, practice.id)
    text_in(client, practice.number, PHONE, "one")
    with db.transaction() as s:
        first = inbox_store.inbox_stamp(s, practice.id)
    text_in(client, practice.number, PHONE, "two")  # same thread, same instant (frozen clock)
    with db.transaction() as s:
        second = inbox_store.inbox_stamp(s, practice.id)
        conv = s.scalar(select(Conversation.id))
        inbox_store.mark_read(s, practice.id, conv)
    with db.transaction() as s:
        read = inbox_store.inbox_stamp(s, practice.id)
        assert inbox_store.unread_total(s, practice.id) == 0
        assert all(m.is_read for m in s.scalars(select(Message)))
    assert len({empty, first, second, read}) == 4


def test_each_text_in_the_thread_has_the_why_diagnostics_gives(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, PHONE)
    text_in(client, practice.number, PHONE, "Can I come at 10?")
    for body in ("Yes, see you then.", "Bring your insurance card."):
        r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": body},
                        headers=practice.auth)
        assert r.status_code == 201
    with db.transaction() as s:
        first = s.scalars(select(Message).where(Message.direction == "outbound")).first()
        first.status, first.failure_cause, first.error_code = "failed", "recipient_invalid", 21211
    now = clock.now()
    with db.transaction() as s:
        conv = s.scalar(select(Conversation.id))
        texts = inbox_service.thread(s, practice.id, conv, now)
        assert [t.message.body for t in texts] == ["Can I come at 10?", "Yes, see you then.",
                                                   "Bring your insurance card."]
        for text in texts:
            expected = diagnostics.explain_message(s, text.message, now)
            assert text.why["holds"] == expected["holds"]
            assert text.why["failure"] == expected["failure"]
            assert [e.id for e in text.why["history"]] == [e.id for e in expected["history"]]
        assert texts[1].why["failure"]["cause"] == "recipient_invalid"
        assert [h["code"] for h in texts[2].why["holds"]] == ["connector_down"]


def test_thread_messages_stay_in_their_practice(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    other = make_practice(client, name="Other", number="+15005550010")
    text_in(client, practice.number, PHONE, "mine")
    with db.transaction() as s:
        conv = s.scalar(select(Conversation.id))
        assert [m.body for m in inbox_store.thread_messages(s, practice.id, conv)] == ["mine"]
        assert inbox_store.thread_messages(s, other.id, conv) == []
        assert inbox_store.thread_signature(s, other.id, conv) == []
