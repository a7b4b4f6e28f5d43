"""The webhook endpoints API: subscribe, list, read, remove; bad input refused with a code;
the signing secret is in the create answer and nowhere else; another practice sees nothing."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import make_practice
from tests.webhooks.conftest import ALL_EVENTS
from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import IdempotencyKey, WebhookEndpoint
from textdesk.web.app import create_app

URL = "https://hooks.example.com/textdesk"
PATH = "/api/v1/webhook-endpoints"


def test_create_answers_the_secret_once_and_never_again(client: TestClient,
                                                        db: Database) -> None:
    practice = make_practice(client)
    r = client.post(PATH, headers=practice.auth, json={
        "url": URL, "events": ["message.received", "consent.changed", "message.received"],
        "include_bodies": True})
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert created["events"] == ["message.received", "consent.changed"]
    assert created["status"] == "enabled" and created["include_bodies"] is True
    listed = client.get(PATH, headers=practice.auth)
    one = client.get(f"{PATH}/{created['id']}", headers=practice.auth)
    deliveries = client.get(f"{PATH}/{created['id']}/deliveries", headers=practice.auth)
    for answer in (listed, one, deliveries):
        assert answer.status_code == 200
        assert secret not in answer.text and secret[6:] not in answer.text
        assert '"secret"' not in answer.text
    assert [e["id"] for e in listed.json()] == [created["id"]]
    assert one.json()["url"] == URL and deliveries.json() == []
    with db.transaction() as s:  # sealed at rest: a dump of the database does not show it
        stored = s.scalars(select(WebhookEndpoint)).one()
        assert secret not in stored.secret_sealed and secret[6:] not in stored.secret_sealed


@pytest.mark.parametrize("events, code", [
    (["message.received", "message.deleted"], "unknown_webhook_event"),
    (["Message.Received"], "unknown_webhook_event"),
    ([""], "unknown_webhook_event"),
    ([], "no_webhook_events"),
])
def test_an_unknown_event_is_refused_with_the_names_allowed(client: TestClient, events: list[str],
                                                            code: str) -> None:
    practice = make_practice(client)
    r = client.post(PATH, headers=practice.auth, json={"url": URL, "events": events})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == code and r.json()["events"] == ALL_EVENTS
    assert client.get(PATH, headers=practice.auth).json() == []


@pytest.mark.parametrize("url", [
    "ftp://hooks.example.com/x", "hooks.example.com/x", "https://", "http:///path",
    "https://user:pass@hooks.example.com/x", "https://hooks.example.com/a b",
    "https://hooks.example.com/x#frag", "https://hooks.example.com:99999/x",
    "javascript:alert(1)", "", "https://hooks.example.com/" + "a" * 2000,
])
def test_a_bad_url_is_refused(client: TestClient, url: str) -> None:
    practice = make_practice(client)
    r = client.post(PATH, headers=practice.auth, json={"url": url, "events": ALL_EVENTS})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_webhook_url" and r.json()["field"] == "url"
    assert client.get(PATH, headers=practice.auth).json() == []


@pytest.mark.parametrize("body, status, code", [
    ({"url": URL, "events": ALL_EVENTS, "include_bodies": "yes"}, 422, "invalid_request"),
    ({"url": URL, "events": "message.received"}, 422, "invalid_request"),
    ({"url": URL, "events": ALL_EVENTS, "secret": "whsec_mine"}, 400, "unknown_field"),
    ({"url": URL, "events": ["x" * 65]}, 422, "invalid_request"),
    ({"url": URL + "/" + "a" * 3000, "events": ALL_EVENTS}, 422, "invalid_request"),
    ({"events": ALL_EVENTS}, 422, "invalid_request"),
])
def test_malformed_bodies_are_refused(client: TestClient, body: dict[str, object], status: int,
                                      code: str) -> None:
    practice = make_practice(client)
    r = client.post(PATH, headers=practice.auth, json=body)
    assert (r.status_code, r.json()["error"]) == (status, code), r.text


def test_another_practices_endpoint_is_not_found(client: TestClient) -> None:
    mine = make_practice(client, name="Mine", number="+15005550006")
    other = make_practice(client, name="Other", number="+15005550007")
    created = client.post(PATH, headers=mine.auth, json={"url": URL, "events": ALL_EVENTS})
    endpoint_id = created.json()["id"]
    for method, path in [("GET", f"{PATH}/{endpoint_id}"), ("DELETE", f"{PATH}/{endpoint_id}"),
                         ("GET", f"{PATH}/{endpoint_id}/deliveries"),
                         ("POST", f"{PATH}/{endpoint_id}/enable"),
                         ("POST", f"{PATH}/{endpoint_id}/deliveries/1/replay")]:
        r = client.request(method, path, headers=other.auth)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["error"] == "webhook_endpoint_not_found"
    assert client.get(PATH, headers=other.auth).json() == []
    assert client.get(f"{PATH}/{endpoint_id}", headers=mine.auth).status_code == 200


@pytest.mark.parametrize("path", [f"{PATH}/0", f"{PATH}/abc", f"{PATH}/99999999999",
                                  f"{PATH}/1/deliveries?before_id={2**63}",
                                  f"{PATH}/1/deliveries?status=lost",
                                  f"{PATH}/1/deliveries?limit=100000"])
def test_bad_ids_and_filters_are_refused_not_500(client: TestClient, path: str) -> None:
    practice = make_practice(client)
    client.post(PATH, headers=practice.auth, json={"url": URL, "events": ALL_EVENTS})
    r = client.get(path, headers=practice.auth)
    assert r.status_code in (404, 422), r.text


def test_delete_removes_the_endpoint(client: TestClient) -> None:
    practice = make_practice(client)
    created = client.post(PATH, headers=practice.auth, json={"url": URL, "events": ALL_EVENTS})
    endpoint_id = created.json()["id"]
    assert client.delete(f"{PATH}/{endpoint_id}", headers=practice.auth).status_code == 204
    assert client.get(f"{PATH}/{endpoint_id}", headers=practice.auth).status_code == 404
    assert client.delete(f"{PATH}/{endpoint_id}", headers=practice.auth).status_code == 404
    assert client.get(PATH, headers=practice.auth).json() == []


def test_without_a_secret_key_no_endpoint_is_made(db: Database, clock: FrozenClock) -> None:
    settings = Settings(database_url=db.url, admin_token="test-admin-token",
                        public_url="http://testserver")
    with TestClient(create_app(settings, db, clock), raise_server_exceptions=False) as plain:
        practice = make_practice(plain)
        r = plain.post(PATH, headers=practice.auth, json={"url": URL, "events": ALL_EVENTS})
        assert r.status_code == 409 and r.json()["error"] == "secret_key_missing"
        assert "TEXTDESK_SECRET_KEY" in r.json()["fix"]
        assert plain.get(PATH, headers=practice.auth).json() == []


def test_an_idempotency_key_never_keeps_the_secret(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    headers = {**practice.auth, "Idempotency-Key": "hook-1"}
    first = client.post(PATH, headers=headers, json={"url": URL, "events": ALL_EVENTS})
    second = client.post(PATH, headers=headers, json={"url": URL, "events": ALL_EVENTS})
    assert first.status_code == second.status_code == 201
    assert first.json()["secret"] != second.json()["secret"]  # two endpoints, listed both
    assert len(client.get(PATH, headers=practice.auth).json()) == 2
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


def test_a_practice_has_at_most_twenty_endpoints(client: TestClient) -> None:
    practice = make_practice(client)
    for i in range(20):
        r = client.post(PATH, headers=practice.auth,
                        json={"url": f"{URL}/{i}", "events": ["consent.changed"]})
        assert r.status_code == 201
    r = client.post(PATH, headers=practice.auth, json={"url": URL, "events": ALL_EVENTS})
    assert r.status_code == 409 and r.json()["error"] == "webhook_endpoint_limit"


def test_replay_of_an_unknown_delivery_is_not_found(client: TestClient) -> None:
    practice = make_practice(client)
    created = client.post(PATH, headers=practice.auth, json={"url": URL, "events": ALL_EVENTS})
    r = client.post(f"{PATH}/{created.json()['id']}/deliveries/12345/replay",
                    headers=practice.auth)
    assert r.status_code == 404 and r.json()["error"] == "webhook_delivery_not_found"
