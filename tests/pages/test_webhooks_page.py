"""The Event webhooks page: a manager adds an endpoint and sees its secret once, deletes one,
turns a failed one back on, reads its deliveries and replays one; a refused input shows the
service's message and changes nothing; staff who are not managers are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import ADMIN_TOKEN
from tests.pages.helpers import Desk, csrf_of, desk, sign_in
from tests.webhooks.receiver import Receiver
from textdesk.config import Settings
from textdesk.domain.webhooks import MAX_ATTEMPTS, RETRY_DELAYS, EventType
from textdesk.integrations import secrets
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import WebhookEndpoint
from textdesk.webhooks import outbox
from textdesk.webhooks.delivery import SECRET_CONTEXT, Deliverer
from textdesk.webhooks.sender import Sender

SECRET_KEY = "webhook-page-tests-secret-key-0123456789"
API = "/api/v1/webhook-endpoints"
PAGE = "/settings/webhooks"
_SECRET = re.compile(r'id="new-secret"[^>]*value="(whsec_[^"]+)"')


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                    public_url="http://testserver", secret_key=SECRET_KEY)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(slow_seconds=1.0)
    found.start()
    yield found
    found.stop()


@pytest.fixture
def deliverer() -> Iterator[Deliverer]:
    found = Deliverer(Sender(0.4), SECRET_KEY)
    yield found
    found.close()


def _api_endpoints(client: TestClient, front: Desk) -> list[dict[str, Any]]:
    r = client.get(API, headers=front.practice.auth)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _add(client: TestClient, url: str, events: list[str], **extra: str) -> Any:
    form = client.get(PAGE)
    return client.post(PAGE, data={"url": url, "events": events,
                                   "csrf_token": csrf_of(form.text), **extra},
                       follow_redirects=False)


def _sealed_secret(db: Database, endpoint_id: int) -> str:
    with db.read() as session:
        row = session.get(WebhookEndpoint, endpoint_id)
        assert row is not None
        return secrets.unseal(SECRET_KEY, row.secret_sealed, SECRET_CONTEXT)


def test_add_an_endpoint_and_see_its_secret_once(client: TestClient, db: Database,
                                                 clock: FrozenClock) -> None:
    front = desk(client, db, clock)
    assert f'href="{PAGE}"' in client.get("/settings").text
    r = _add(client, "https://hooks.example.org/textdesk",
             [EventType.MESSAGE_RECEIVED.value, EventType.CONSENT_CHANGED.value],
             include_bodies="on")
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?notice=webhook_added"
    shown = client.get(r.headers["location"])
    [endpoint] = _api_endpoints(client, front)
    assert endpoint["events"] == ["message.received", "consent.changed"]
    assert endpoint["include_bodies"] is True and endpoint["status"] == "enabled"
    match = _SECRET.search(shown.text)
    assert match and match.group(1) == _sealed_secret(db, endpoint["id"])  # the real secret
    assert "it is not shown again" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    again = client.get(PAGE).text  # a reload: gone for good
    assert "whsec_" not in again and "hooks.example.org/textdesk" in again


def test_the_secret_is_only_for_the_session_that_made_it(client: TestClient, db: Database,
                                                         clock: FrozenClock) -> None:
    front = desk(client, db, clock)
    r = _add(client, "https://hooks.example.org/a", [EventType.CONSENT_CHANGED.value])
    kept = r.cookies.get("textdesk_shown_once")
    assert kept and "whsec_" not in kept  # sealed, not merely signed
    with TestClient(client.app) as other:  # a second session, given the same cookie
        assert sign_in(other, front.email).status_code == 303  # type: ignore[attr-defined]
        other.cookies.set("textdesk_shown_once", kept)
        assert "whsec_" not in other.get(PAGE).text
    assert "whsec_" in client.get(PAGE).text  # still there for the session that made it


def test_a_secret_not_shown_within_minutes_is_never_shown(client: TestClient, db: Database,
                                                          clock: FrozenClock) -> None:
    desk(client, db, clock)
    r = _add(client, "https://hooks.example.org/a", [EventType.CONSENT_CHANGED.value])
    assert r.status_code == 303
    clock.advance(minutes=6)
    assert "whsec_" not in client.get(PAGE).text


@pytest.mark.parametrize(("url", "events", "code", "message"), [
    ("ftp://hooks.example.org/x", ["consent.changed"], "invalid_webhook_url",
     "The webhook URL must start with https:// (or http://)."),
    ("https://user:pw@hooks.example.org/x", ["consent.changed"], "invalid_webhook_url",
     "must not carry a user name or password"),
    ("https://hooks.example.org/x", ["message.nope"], "unknown_webhook_event",
     "Unknown event &#39;message.nope&#39;."),
    ("https://hooks.example.org/x", [], "no_webhook_events", "Subscribe to at least one event."),
])
def test_a_refused_endpoint_shows_why_and_adds_nothing(
        client: TestClient, db: Database, clock: FrozenClock, url: str, events: list[str],
        code: str, message: str) -> None:
    front = desk(client, db, clock)
    r = _add(client, url, events)
    assert r.status_code == 422
    error = r.text.split('id="webhook-error">', 1)[1].split("</p>", 1)[0]
    assert message in error and f"({code})" in error and "Nothing was changed." in error
    assert f'value="{url}"' in r.text  # what was typed is there to correct
    assert _api_endpoints(client, front) == []
    assert "whsec_" not in r.text and "textdesk_shown_once" not in r.headers.get("set-cookie", "")


def test_delete_an_endpoint(client: TestClient, db: Database, clock: FrozenClock) -> None:
    front = desk(client, db, clock)
    made = client.post(API, headers=front.practice.auth, json={
        "url": "https://hooks.example.org/old", "events": ["consent.changed"]}).json()
    page = client.get(PAGE).text
    assert f'action="{PAGE}/{made["id"]}/delete"' in page
    r = client.post(f"{PAGE}/{made['id']}/delete", data={"csrf_token": csrf_of(page)},
                    follow_redirects=False)
    assert r.status_code == 303 and "notice=webhook_deleted" in r.headers["location"]
    assert _api_endpoints(client, front) == []
    missing = client.post(f"{PAGE}/{made['id']}/delete", data={"csrf_token": csrf_of(page)})
    assert missing.status_code == 404 and "(webhook_endpoint_not_found)" in missing.text


def _fail_for_a_day(client: TestClient, db: Database, clock: FrozenClock, front: Desk,
                    receiver: Receiver, deliverer: Deliverer) -> dict[str, Any]:
    """An endpoint whose receiver answers 500 to every attempt: turned off after a day."""
    made = client.post(API, headers=front.practice.auth, json={
        "url": receiver.url("/hook"), "events": ["consent.changed"]}).json()
    receiver.expect("/hook", made["secret"], *([500] * MAX_ATTEMPTS))
    with db.transaction() as session:
        outbox.emit(session, front.practice.id, EventType.CONSENT_CHANGED, {"n": 1},
                    clock.now())
    assert deliverer.run(db, clock.now()) == 1
    for delay in RETRY_DELAYS:
        clock.advance(seconds=delay.total_seconds())
        assert deliverer.run(db, clock.now()) == 1
    assert sign_in(client, front.email).status_code == 303  # type: ignore[attr-defined]
    return made  # type: ignore[no-any-return]


def test_a_turned_off_endpoint_says_why_and_turns_back_on(
        client: TestClient, db: Database, clock: FrozenClock, receiver: Receiver,
        deliverer: Deliverer) -> None:
    front = desk(client, db, clock)
    made = _fail_for_a_day(client, db, clock, front, receiver, deliverer)
    page = client.get(PAGE).text
    row = page.split(f'id="endpoint-{made["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Turned off" in row and f"after {MAX_ATTEMPTS} failed attempts" in row
    assert "Last error: HTTP 500" in row and "Turn back on" in row
    receiver.plan("/hook", 200)  # the receiver is fixed
    r = client.post(f"{PAGE}/{made['id']}/enable", data={"csrf_token": csrf_of(page)},
                    follow_redirects=False)
    assert r.status_code == 303 and "notice=webhook_enabled" in r.headers["location"]
    [state] = _api_endpoints(client, front)
    assert state["status"] == "enabled" and state["consecutive_failures"] == 0
    assert deliverer.run(db, clock.now()) == 1  # what gave up while it failed goes now
    assert len(receiver.processed) == 1


def test_deliveries_are_listed_and_one_is_replayed(
        client: TestClient, db: Database, clock: FrozenClock, receiver: Receiver,
        deliverer: Deliverer) -> None:
    front = desk(client, db, clock)
    made = client.post(API, headers=front.practice.auth, json={
        "url": receiver.url("/ok"), "events": ["consent.changed"]}).json()
    receiver.expect("/ok", made["secret"], 500, 200)
    with db.transaction() as session:
        event_id = outbox.emit(session, front.practice.id, EventType.CONSENT_CHANGED, {},
                               clock.now())
    assert deliverer.run(db, clock.now()) == 1  # the first attempt fails
    page = client.get(f"{PAGE}/{made['id']}").text
    [delivery] = client.get(f"{API}/{made['id']}/deliveries", headers=front.practice.auth).json()
    row = page.split(f'id="delivery-{delivery["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "consent.changed" in row and str(event_id) in row and "Pending" in row
    assert "HTTP 500" in row and "next try" in row
    r = client.post(f"{PAGE}/{made['id']}/deliveries/{delivery['id']}/replay",
                    data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"{PAGE}/{made['id']}?notice=webhook_replayed"
    assert deliverer.run(db, clock.now()) == 1  # replayed now, not at the retry's time
    page = client.get(f"{PAGE}/{made['id']}").text
    row = page.split(f'id="delivery-{delivery["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "Delivered" in row and list(receiver.processed) == [event_id]


def test_a_replay_to_a_turned_off_endpoint_is_refused(
        client: TestClient, db: Database, clock: FrozenClock, receiver: Receiver,
        deliverer: Deliverer) -> None:
    front = desk(client, db, clock)
    made = _fail_for_a_day(client, db, clock, front, receiver, deliverer)
    [delivery] = client.get(f"{API}/{made['id']}/deliveries", headers=front.practice.auth).json()
    page = client.get(f"{PAGE}/{made['id']}").text
    r = client.post(f"{PAGE}/{made['id']}/deliveries/{delivery['id']}/replay",
                    data={"csrf_token": csrf_of(page)})
    assert r.status_code == 409 and "(webhook_endpoint_disabled)" in r.text
    [after] = client.get(f"{API}/{made['id']}/deliveries", headers=front.practice.auth).json()
    assert after == delivery  # nothing changed


def test_staff_who_are_not_managers_are_refused(client: TestClient, db: Database,
                                                clock: FrozenClock) -> None:
    front = desk(client, db, clock, manager=False)
    made = client.post(API, headers=front.practice.auth, json={
        "url": "https://hooks.example.org/kept", "events": ["consent.changed"]}).json()
    assert f'href="{PAGE}"' not in client.get("/settings").text
    page = client.get(PAGE)
    assert page.status_code == 403 and "(manager_only)" in page.text
    assert "hooks.example.org/kept" not in page.text
    assert client.get(f"{PAGE}/{made['id']}").status_code == 403
    token = csrf_of(client.get("/inbox").text)
    r = client.post(PAGE, data={"url": "https://hooks.example.org/new",
                                "events": ["consent.changed"], "csrf_token": token})
    assert r.status_code == 403
    r = client.post(f"{PAGE}/{made['id']}/delete", data={"csrf_token": token})
    assert r.status_code == 403
    assert [e["url"] for e in _api_endpoints(client, front)] == ["https://hooks.example.org/kept"]


def test_a_form_without_its_csrf_token_is_refused(client: TestClient, db: Database,
                                                  clock: FrozenClock) -> None:
    front = desk(client, db, clock)
    r = client.post(PAGE, data={"url": "https://hooks.example.org/x",
                                "events": ["consent.changed"]})
    assert r.status_code == 403 and _api_endpoints(client, front) == []


def test_another_practices_endpoint_is_not_found(client: TestClient, db: Database,
                                                 clock: FrozenClock) -> None:
    from tests.helpers import make_practice

    other = make_practice(client, name="Other Dental", number="+15005550007")
    theirs = client.post(API, headers=other.auth, json={
        "url": "https://hooks.example.org/theirs", "events": ["consent.changed"]}).json()
    desk(client, db, clock)
    assert client.get(f"{PAGE}/{theirs['id']}").status_code == 404
    token = csrf_of(client.get(PAGE).text)
    assert client.post(f"{PAGE}/{theirs['id']}/delete",
                       data={"csrf_token": token}).status_code == 404
    with db.read() as session:
        assert session.scalars(select(WebhookEndpoint.id)).all() == [theirs["id"]]
