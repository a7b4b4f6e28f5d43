"""The Audit page: a manager reads the trail in the practice's time zone, filtered by staff,
patient and dates; staff who are not managers are refused; no body or phone is shown."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import make_patient, make_practice
from tests.pages.helpers import add_staff, csrf_of, desk, sign_in, text_in
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Conversation

PHONE = "(415) 555-0123"


def _rows(html: str) -> list[str]:
    body = html.split('<tbody>', 1)[1].split('</tbody>', 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in body.split("<tr>")[1:]]


def test_a_manager_reads_and_filters_the_trail(client: TestClient, db: Database,
                                               clock: FrozenClock) -> None:
    front = desk(client, db, clock)  # a manager, signed in
    pat = make_patient(client, front.practice, PHONE, first_name="Pat")  # consent by token
    text_in(client, front.practice.number, "+14155550123", "Running late, sorry")
    with db.transaction() as s:
        conv = s.scalars(select(Conversation.id)).one()
    clock.advance(hours=8)
    client.get("/inbox")  # the staff session stays alive
    clock.advance(hours=8)  # 2 a.m. the next day in New York
    html = client.get(f"/conversations/{conv}").text
    client.post(f"/conversations/{conv}/send", data={"body": "No problem at all",
                                                     "csrf_token": csrf_of(html)})
    other = make_patient(client, front.practice, "(415) 555-0124", first_name="Olly")

    page = client.get("/audit")
    assert page.status_code == 200
    assert 'href="/audit"' in client.get("/settings").text
    rows = _rows(page.text)
    assert len(rows) == 5  # newest first; the send's redirect opens the conversation again
    assert rows[0] == ("2026-03-03 02:00:00 EST API token testclient Recorded consent "
                       f"Olly Doe #{other['id']} patient {other['id']}")
    assert rows[2] == ("2026-03-03 02:00:00 EST dana@example.com testclient Sent a text "
                       f"Pat Doe #{pat['id']} conversation {conv}")
    assert "Opened a conversation" in rows[3] and f"Pat Doe #{pat['id']}" in rows[3]
    assert rows[4].startswith("2026-03-02 10:00:00 EST API token")
    for secret in ("Running late", "No problem", "555-0123", "5550123", "555-0124"):
        assert secret not in page.text

    by_staff = _rows(client.get("/audit", params={"who": "dana@example.com"}).text)
    assert len(by_staff) == 3 and all("dana@example.com" in r for r in by_staff)
    by_patient = _rows(client.get("/audit", params={"patient": str(other["id"])}).text)
    assert len(by_patient) == 1 and "Olly Doe" in by_patient[0]
    first_day = _rows(client.get("/audit", params={"since": "2026-03-02",
                                                   "until": "2026-03-02"}).text)
    assert len(first_day) == 1 and first_day[0].startswith("2026-03-02")
    later = _rows(client.get("/audit", params={"since": "2026-03-03"}).text)
    assert len(later) == 4
    assert _rows(client.get("/audit", params={"until": "2026-03-01"}).text) == [
        "Nothing recorded matches."]


def test_bad_filters_say_what_is_wrong(client: TestClient, db: Database,
                                       clock: FrozenClock) -> None:
    desk(client, db, clock)
    for params, code in [({"since": "yesterday"}, "invalid_since"),
                         ({"until": "2026-13-01"}, "invalid_until"),
                         ({"patient": "12; drop"}, "invalid_patient"),
                         ({"patient": "9" * 30}, "invalid_patient")]:
        r = client.get("/audit", params=params)
        assert r.status_code == 422 and f"({code})" in r.text


def test_staff_who_are_not_managers_are_refused(client: TestClient, db: Database,
                                                clock: FrozenClock) -> None:
    front = desk(client, db, clock, manager=False)
    make_patient(client, front.practice, PHONE)
    r = client.get("/audit")
    assert r.status_code == 403 and "(manager_only)" in r.text
    assert "API token" not in r.text and 'id="audit-rows"' not in r.text
    assert 'href="/audit"' not in client.get("/settings").text
    assert 'href="/audit"' not in client.get("/inbox").text


def test_another_practices_trail_is_not_shown(client: TestClient, db: Database,
                                              clock: FrozenClock) -> None:
    mine = desk(client, db, clock)
    make_patient(client, mine.practice, PHONE)
    assert len(_rows(client.get("/audit").text)) == 1
    other = make_practice(client, name="Other", number="+15005550007")
    add_staff(db, clock, other.id, "olly@example.com")
    client.cookies.clear()
    assert sign_in(client, "olly@example.com").status_code == 303  # type: ignore[attr-defined]
    assert _rows(client.get("/audit").text) == ["Nothing recorded matches."]
