"""Helpers for consent tests: a patient's text through the signed webhook, and what it left."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import Practice
from textdesk.carriers.twilio import SIGNATURE_HEADER, sign
from textdesk.config import SIMULATOR_AUTH_TOKEN
from textdesk.domain.messages import MessageKind
from textdesk.storage.db import Database
from textdesk.storage.models import Commlog, ConsentEvent, Conversation, Message

_sids = itertools.count(1)
WEBHOOK = "/webhooks/twilio/inbound"


def inbound_params(to: str, from_: str, body: str, sid: str | None = None) -> dict[str, str]:
    sid = sid or f"SMe{next(_sids):031x}"  # "e": never one of the tests' outbound sids
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": from_,
            "To": to, "Body": body, "NumMedia": "0"}


def signed_headers(base_url: str, params: dict[str, str], path: str = WEBHOOK,
                   token: str = SIMULATOR_AUTH_TOKEN) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(token, base_url.rstrip("/") + path, params)}


def text_in(client: TestClient, practice: Practice, from_: str, body: str,
            sid: str | None = None, to: str | None = None) -> dict[str, str]:
    """A patient texts the practice: a signed inbound webhook, as the carrier sends it."""
    params = inbound_params(to or practice.number, from_, body, sid)
    r = client.post(WEBHOOK, data=params, headers=signed_headers("http://testserver", params))
    assert r.status_code == 200, r.text
    return params


def messages_with(db: Database, practice_id: int, phone: str, **where: Any) -> list[Message]:
    """Every message to or from a phone, oldest first (filters: direction=, kind=, status=)."""
    with db.transaction() as s:
        stmt = select(Message).where(Message.practice_id == practice_id,
                                     (Message.to_e164 == phone) | (Message.from_e164 == phone))
        for name, value in where.items():
            stmt = stmt.where(getattr(Message, name) == value)
        return list(s.scalars(stmt.order_by(Message.id)))


def answers_to(db: Database, practice_id: int, phone: str) -> list[Message]:
    """Automatic answers to the phone (keyword answers, G5, D3), oldest first."""
    return [m for m in messages_with(db, practice_id, phone, direction="outbound")
            if MessageKind(m.kind).answers_inbound]


def consent_events(db: Database, practice_id: int, phone: str) -> list[ConsentEvent]:
    with db.transaction() as s:
        return list(s.scalars(select(ConsentEvent).where(
            ConsentEvent.practice_id == practice_id, ConsentEvent.phone_e164 == phone)
            .order_by(ConsentEvent.id)))


def conversation(db: Database, practice_id: int, phone: str) -> Conversation | None:
    with db.transaction() as s:
        return s.scalar(select(Conversation).where(Conversation.practice_id == practice_id,
                                                   Conversation.phone_e164 == phone))


def commlogs_of_message(db: Database, message_id: int) -> list[Commlog]:
    with db.transaction() as s:
        return list(s.scalars(select(Commlog).where(Commlog.message_id == message_id)))


def consent_state(client: TestClient, practice: Practice, phone: str) -> str:
    r = client.get("/api/v1/consent", params={"phone": phone}, headers=practice.auth)
    assert r.status_code == 200, r.text
    return str(r.json()["state"])


def send_manual(client: TestClient, practice: Practice, patient_id: int,
                body: str = "See you Tuesday at 9.") -> dict[str, Any]:
    r = client.post("/api/v1/messages", json={"patient_id": patient_id, "body": body},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]
