"""The conversation page: thread and why, the checked send box, consent, commlog, flags."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import make_patient
from tests.pages.helpers import Desk, conversation_ids, csrf_of, desk, text_in
from textdesk.domain.reasons import OPT_BACK_IN
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Conversation, Message

PHONE = "+14155550123"


@pytest.fixture
def front(client: TestClient, db: Database, clock: FrozenClock) -> Desk:
    return desk(client, db, clock)


def _open(client: TestClient, practice: Any, patient: dict[str, Any]) -> tuple[int, str]:
    page = client.get("/inbox", params={"q": patient["first_name"]})
    r = client.post(f"/patients/{patient['id']}/conversation",
                    data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    conv = int(r.headers["location"].rsplit("/", 1)[1])
    return conv, client.get(f"/conversations/{conv}").text


def _messages(db: Database, practice_id: int) -> list[Message]:
    with db.transaction() as s:
        return list(s.scalars(select(Message).where(Message.practice_id == practice_id)
                              .order_by(Message.id)))


def _check(client: TestClient, conv: int, body: str, csrf: str) -> dict[str, Any]:
    r = client.post(f"/conversations/{conv}/check", json={"body": body},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_reply_is_queued_through_the_same_send_path(front: Desk, client: TestClient,
                                                    db: Database) -> None:
    patient = make_patient(client, front.practice, PHONE, first_name="Ava")
    conv, html = _open(client, front.practice, patient)
    assert 'id="send" type="submit" class="button-primary">' in html  # enabled
    r = client.post(f"/conversations/{conv}/send",
                    data={"body": "See you at 9.", "csrf_token": csrf_of(html)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("notice=sent")
    [message] = _messages(db, front.practice.id)
    assert (message.status, message.kind, message.created_by) == ("pending", "manual",
                                                                  front.email)
    page = client.get(r.headers["location"]).text
    assert "See you at 9." in page and 'data-status="pending"' in page
    # No connector runs in this test: the why says so, with its fix.
    assert "connector_down" in page and "textdesk connector" in page


def test_send_without_the_csrf_token_changes_nothing(front: Desk, client: TestClient,
                                                      db: Database) -> None:
    patient = make_patient(client, front.practice, PHONE)
    conv, _ = _open(client, front.practice, patient)
    r = client.post(f"/conversations/{conv}/send", data={"body": "Hi"})
    assert r.status_code == 403 and "expired" in r.text
    r = client.post(f"/conversations/{conv}/send", data={"body": "Hi", "csrf_token": "x" * 64})
    assert r.status_code == 403
    assert _messages(db, front.practice.id) == []


def test_opted_out_patient_shows_the_blocker_and_send_is_off(front: Desk, client: TestClient,
                                                             db: Database) -> None:
    patient = make_patient(client, front.practice, PHONE, first_name="Dev")
    text_in(client, front.practice.number, PHONE, "STOP")
    conv = db_conversation(db, PHONE)
    html = client.get(f"/conversations/{conv}").text
    assert "opted_out" in html
    # One sentence about opting back in, the same in the send box and the consent panel.
    assert html.count(OPT_BACK_IN.replace("'", "&#39;")) == 2
    assert "Only the patient can opt back in" not in html
    assert 'id="send" type="submit" class="button-primary" disabled' in html
    assert "Opted out" in html
    before = len(_messages(db, front.practice.id))
    r = client.post(f"/conversations/{conv}/send",
                    data={"body": "Please come back", "csrf_token": csrf_of(html)})
    assert r.status_code == 422 and "Not sent." in r.text and "opted_out" in r.text
    assert "Please come back" in r.text  # the draft is kept
    assert len(_messages(db, front.practice.id)) == before
    check = _check(client, conv, "Please come back", csrf_of(html))
    assert check["can_text"] is False
    assert [b["code"] for b in check["blockers"]] == ["opted_out"]
    assert patient["id"]


def db_conversation(db: Database, phone: str) -> int:
    with db.transaction() as s:
        return int(s.scalar(select(Conversation.id).where(Conversation.phone_e164 == phone)))


@pytest.mark.parametrize(("body", "segments", "encoding", "cost", "codes"), [
    ("See you at 9.", 1, "GSM-7", "0.0079", set()),
    ("x" * 161, 2, "GSM-7", "0.0158", {"multi_segment"}),
    ("See you 😀", 1, "UCS-2", "0.0079", {"unicode_characters"}),
    ("Book at https://bit.ly/abc", 1, "GSM-7", "0.0079",
     {"url_in_manual_text", "link_shortener"}),
    ("Book at https://brightsmiles.example/book", 1, "GSM-7", "0.0079",
     {"url_in_manual_text"}),
])
def test_the_draft_check_shows_cost_and_warnings(front: Desk, client: TestClient, body: str,
                                                  segments: int, encoding: str, cost: str,
                                                  codes: set[str]) -> None:
    patient = make_patient(client, front.practice, PHONE)
    conv, html = _open(client, front.practice, patient)
    result = _check(client, conv, body, csrf_of(html))
    assert (result["segments"], result["encoding"], result["cost_usd"]) == (segments, encoding,
                                                                            cost)
    assert result["can_text"] is True
    assert {w["code"] for w in result["warnings"]} == codes
    assert all(w["fix"] for w in result["warnings"])


def test_the_draft_check_lists_every_blocker_and_needs_the_token(
        front: Desk, client: TestClient) -> None:
    patient = make_patient(client, front.practice, PHONE, opted_in=False)
    conv, html = _open(client, front.practice, patient)
    r = client.patch("/api/v1/practice", json={"url_policy": "block"},
                     headers=front.practice.auth)
    assert r.status_code == 200
    result = _check(client, conv, "Pay at https://pay.example.com " + "x" * 1600, csrf_of(html))
    codes = {b["code"] for b in result["blockers"]}
    assert codes == {"not_opted_in", "url_in_manual_text", "body_too_long"}
    refused = client.post(f"/conversations/{conv}/check", json={"body": "hi"})
    assert refused.status_code == 403 and refused.json()["error"] == "csrf_refused"


def test_failed_text_badge_opens_its_cause_and_fix(front: Desk, client: TestClient,
                                                    db: Database) -> None:
    patient = make_patient(client, front.practice, PHONE)
    conv, html = _open(client, front.practice, patient)
    client.post(f"/conversations/{conv}/send", data={"body": "Hi", "csrf_token": csrf_of(html)})
    with db.transaction() as s:
        message = s.scalars(select(Message)).one()
        message.status, message.failure_cause, message.error_code = ("undelivered",
                                                                     "recipient_landline", 30006)
    page = client.get(f"/conversations/{conv}").text
    assert 'data-status="undelivered"' in page and "The number is a landline." in page
    assert "Enter a wireless number." in page and "carrier error 30006" in page


def test_live_thread_answers_204_until_a_status_changes(front: Desk, client: TestClient,
                                                         db: Database) -> None:
    patient = make_patient(client, front.practice, PHONE)
    conv, html = _open(client, front.practice, patient)
    client.post(f"/conversations/{conv}/send", data={"body": "Hi", "csrf_token": csrf_of(html)})
    first = client.get(f"/conversations/{conv}/thread")
    stamp = first.headers["x-thread-stamp"]
    assert client.get(f"/conversations/{conv}/thread", params={"since": stamp}).status_code == 204
    with db.transaction() as s:
        s.scalars(select(Message)).one().status = "delivered"
    changed = client.get(f"/conversations/{conv}/thread", params={"since": stamp})
    assert changed.status_code == 200 and 'data-status="delivered"' in changed.text


def test_recording_consent_needs_how_and_then_opens_texting(front: Desk, client: TestClient
                                                            ) -> None:
    patient = make_patient(client, front.practice, PHONE, opted_in=False)
    conv, html = _open(client, front.practice, patient)
    assert "not_opted_in" in html and "No consent on record" in html
    r = client.post(f"/conversations/{conv}/consent",
                    data={"action": "opt_in", "note": " ", "csrf_token": csrf_of(html)})
    assert r.status_code == 400 and "consent_note_required" in r.text
    r = client.post(f"/conversations/{conv}/consent",
                    data={"action": "opt_in", "note": "said yes at the desk",
                          "csrf_token": csrf_of(html)})
    assert r.status_code == 200  # followed the redirect
    assert "Opted in" in r.text and "said yes at the desk" in r.text
    assert "not_opted_in" not in r.text and front.email in r.text


def test_the_consent_panel_records_marketing_consent(front: Desk, client: TestClient) -> None:
    patient = make_patient(client, front.practice, PHONE)  # opted in to texts, not marketing
    conv, html = _open(client, front.practice, patient)
    assert 'name="scope"' in html and '<option value="marketing">' in html
    assert "Not to marketing texts" in html
    r = client.post(f"/conversations/{conv}/consent",
                    data={"action": "opt_in", "scope": "marketing", "note": "signed the form",
                          "csrf_token": csrf_of(html)})
    assert r.status_code == 200 and "(marketing)" in r.text and "signed the form" in r.text
    assert "Marketing texts too" in r.text
    status = client.get(f"/api/v1/patients/{patient['id']}/consent",
                        headers=front.practice.auth).json()
    assert status["state"] == "opted_in" and status["marketing"] is True
    r = client.post(f"/conversations/{conv}/consent",
                    data={"action": "opt_in", "scope": "texts", "note": "x",
                          "csrf_token": csrf_of(html)})
    assert r.status_code == 422 and "invalid_consent" in r.text


def test_commlog_delete_only_where_the_rules_allow(front: Desk, client: TestClient,
                                                   db: Database) -> None:
    patient = make_patient(client, front.practice, PHONE)
    text_in(client, front.practice.number, PHONE, "Running late")
    conv = db_conversation(db, PHONE)
    html = client.get(f"/conversations/{conv}").text
    client.post(f"/conversations/{conv}/send",
                data={"body": "No problem", "csrf_token": csrf_of(html)})
    # A sent text gets its commlog when the carrier takes it; no connector runs here.
    from textdesk.messaging.service import add_commlog

    with db.transaction() as s:
        outbound_text = s.scalars(select(Message).where(Message.direction == "outbound")).one()
        add_commlog(s, outbound_text, outbound_text.created_at)
    logs = client.get(f"/api/v1/patients/{patient['id']}/commlogs",
                      headers=front.practice.auth).json()
    inbound = next(c for c in logs if c["direction"] == "inbound")
    outbound = next(c for c in logs if c["direction"] == "outbound")
    page = client.get(f"/conversations/{conv}").text
    assert f'/commlogs/{outbound["id"]}/delete' in page
    assert f'/commlogs/{inbound["id"]}/delete' not in page and "Kept: tied to the received" in page
    refused = client.post(f"/commlogs/{inbound['id']}/delete",
                          data={"conversation_id": conv, "csrf_token": csrf_of(page)})
    assert refused.status_code == 409 and "received_commlog_not_deletable" in refused.text
    done = client.post(f"/commlogs/{outbound['id']}/delete",
                       data={"conversation_id": conv, "csrf_token": csrf_of(page)},
                       follow_redirects=False)
    assert done.status_code == 303
    left = client.get(f"/api/v1/patients/{patient['id']}/commlogs", headers=front.practice.auth)
    assert [c["id"] for c in left.json()] == [c["id"] for c in logs if c != outbound]


def test_a_flagged_revocation_is_settled_from_the_page(front: Desk, client: TestClient,
                                                       db: Database) -> None:
    make_patient(client, front.practice, PHONE)
    text_in(client, front.practice.number, PHONE, "please stop texting me")
    conv = db_conversation(db, PHONE)
    html = client.get(f"/conversations/{conv}").text
    assert "Possible opt-out" in html and "Confirm opt-out" in html
    flag_id = int(html.split(f"/conversations/{conv}/flags/")[1].split('"')[0])
    r = client.post(f"/conversations/{conv}/flags/{flag_id}",
                    data={"decision": "confirm", "csrf_token": csrf_of(html)})
    assert r.status_code == 200 and "Possible opt-out" not in r.text
    assert "Opted out" in r.text and "opted_out" in r.text
    assert conversation_ids(client.get("/inbox?view=needs_review").text) == []


def test_blocking_a_sender_drops_it_from_the_inbox(front: Desk, client: TestClient,
                                                    db: Database) -> None:
    text_in(client, front.practice.number, "+14155550166", "spam spam")
    conv = db_conversation(db, "+14155550166")
    html = client.get(f"/conversations/{conv}").text
    r = client.post(f"/conversations/{conv}/block", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 200 and "Sender blocked" in r.text
    assert "spam spam" not in r.text
    assert client.get(f"/conversations/{conv}").status_code == 404
