"""Helpers for page tests: a staff user, signing in through the form, CSRF tokens, texts in."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from fastapi.testclient import TestClient

from tests.helpers import Practice, make_practice
from textdesk.carriers.twilio import SIGNATURE_HEADER, sign
from textdesk.config import SIMULATOR_AUTH_TOKEN
from textdesk.kit.clock import Clock
from textdesk.practice.auth import create_user
from textdesk.storage.db import Database

PASSWORD = "correct horse battery"
_sids = itertools.count(1)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Desk:
    """A practice with a signed-in staff member on `client`."""

    practice: Practice
    email: str
    client: TestClient

    def csrf(self, path: str = "/inbox") -> str:
        return csrf_of(self.client.get(path).text)


def add_staff(db: Database, clock: Clock, practice_id: int, email: str,
              manager: bool = True, password: str = PASSWORD) -> None:
    with db.transaction() as session:
        create_user(session, practice_id, email, "Dana Desk", password, clock.now(),
                    is_manager=manager)


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD,
            next_url: str = "/inbox") -> object:
    form = client.get("/signin")
    return client.post("/signin", data={"email": email, "password": password,
                                        "csrf_token": csrf_of(form.text), "next": next_url},
                       follow_redirects=False)


def desk(client: TestClient, db: Database, clock: Clock, *, name: str = "Test Dental",
         number: str = "+15005550006", email: str = "dana@example.com",
         manager: bool = True) -> Desk:
    practice = make_practice(client, name=name, number=number)
    add_staff(db, clock, practice.id, email, manager=manager)
    r = sign_in(client, email)
    assert r.status_code == 303, r.text  # type: ignore[attr-defined]
    return Desk(practice, email, client)


def text_in(client: TestClient, to: str, from_: str, body: str) -> None:
    """A patient texts the practice: the signed inbound webhook, as the carrier sends it."""
    sid = f"SMd{next(_sids):031x}"
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": from_,
              "To": to, "Body": body, "NumMedia": "0"}
    signature = sign(SIMULATOR_AUTH_TOKEN, "http://testserver/webhooks/twilio/inbound", params)
    r = client.post("/webhooks/twilio/inbound", data=params, headers={SIGNATURE_HEADER: signature})
    assert r.status_code == 200, r.text


def conversation_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-conversation="(\d+)"', html)]
