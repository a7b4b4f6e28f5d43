"""Signing in and out of the staff pages: sessions, cookies, CSRF, throttling."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.helpers import make_practice
from tests.pages.helpers import PASSWORD, add_staff, csrf_of, desk, sign_in
from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

PAGES = ["/inbox", "/leads", "/connector", "/health", "/settings"]


@pytest.mark.parametrize("path", PAGES + ["/conversations/1"])
def test_pages_send_signed_out_people_to_the_sign_in_form(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=" + path.replace("/", "%2F")


def test_polling_answers_401_and_forms_go_to_sign_in_when_signed_out(
        client: TestClient) -> None:
    assert client.get("/inbox/rows", headers={"X-Requested-With": "fetch"}).status_code == 401
    assert client.post("/conversations/1/check", json={"body": "hi"}).status_code in (401, 403)
    # No session, so no token can match: the form is refused as expired, and nothing runs.
    r = client.post("/connector/refresh", data={"csrf_token": "stale"}, follow_redirects=False)
    assert r.status_code == 403 and "Reload the page" in r.text


def test_sign_in_sets_a_hardened_session_cookie_and_returns_to_next(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    add_staff(db, clock, practice.id, "Dana@Example.com")
    r = sign_in(client, "  dana@EXAMPLE.com ", next_url="/connector")
    assert r.status_code == 303 and r.headers["location"] == "/connector"
    cookie = [c for c in r.headers.get_list("set-cookie") if c.startswith("textdesk_session=")]
    assert cookie, r.headers
    assert "HttpOnly" in cookie[0] and "SameSite=lax" in cookie[0] and "Secure" not in cookie[0]
    page = client.get("/connector")
    assert page.status_code == 200 and "Dana Desk" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_cookie_is_secure_when_the_public_url_is_https(db: Database, clock: FrozenClock) -> None:
    from textdesk.web.app import create_app

    settings = Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                        public_url="https://desk.example")
    with TestClient(create_app(settings, db, clock), base_url="https://desk.example") as c:
        practice = make_practice(c)
        add_staff(db, clock, practice.id, "sec@example.com")
        r = sign_in(c, "sec@example.com")
        assert r.status_code == 303
        assert "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_next_never_leaves_the_site(client: TestClient, db: Database, clock: FrozenClock,
                                    target: str) -> None:
    practice = make_practice(client)
    add_staff(db, clock, practice.id, "dana@example.com")
    r = sign_in(client, "dana@example.com", next_url=target)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"


def test_wrong_password_and_unknown_email_get_the_same_answer(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    add_staff(db, clock, practice.id, "dana@example.com")
    wrong = sign_in(client, "dana@example.com", "not the password")
    unknown = sign_in(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail or password." in wrong.text and "Wrong e-mail or password." in unknown.text
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_sign_in_without_the_form_token_is_refused(client: TestClient, db: Database,
                                                   clock: FrozenClock) -> None:
    practice = make_practice(client)
    add_staff(db, clock, practice.id, "dana@example.com")
    r = client.post("/signin", data={"email": "dana@example.com", "password": PASSWORD},
                    follow_redirects=False)
    assert r.status_code == 403
    assert "textdesk_session=" not in r.headers.get("set-cookie", "")


@pytest.mark.parametrize("email", ["dana@example.com", "ghost@example.com"])
def test_repeated_failures_slow_sign_in_then_wear_off(client: TestClient, db: Database,
                                                      clock: FrozenClock, email: str) -> None:
    practice = make_practice(client)
    add_staff(db, clock, practice.id, "dana@example.com")
    for _ in range(6):  # five free mistakes, the sixth starts the wait
        assert sign_in(client, email, "wrong password").status_code == 401
    throttled = sign_in(client, email, PASSWORD)
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text
    assert "textdesk_session=" not in throttled.headers.get("set-cookie", "")
    clock.advance(seconds=2)
    if email == "dana@example.com":
        assert sign_in(client, email, PASSWORD).status_code == 303
        assert client.get("/inbox").status_code == 200
    else:
        assert sign_in(client, email, PASSWORD).status_code == 401


def test_sign_out_needs_the_token_and_ends_the_session_on_the_server(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    d = desk(client, db, clock)
    stolen = client.cookies.get("textdesk_session")
    assert client.post("/signout", data={}, follow_redirects=False).status_code == 403
    assert client.get("/inbox").status_code == 200  # still signed in
    r = client.post("/signout", data={"csrf_token": d.csrf()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    client.cookies.set("textdesk_session", stolen)  # a copy of the old cookie is worthless
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_idle_sessions_expire(client: TestClient, db: Database, clock: FrozenClock) -> None:
    desk(client, db, clock)
    clock.advance(hours=11)
    assert client.get("/inbox").status_code == 200  # used: the idle clock restarts
    clock.advance(hours=11)
    assert client.get("/inbox").status_code == 200
    clock.advance(hours=13)
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_a_tampered_cookie_is_ignored(client: TestClient, db: Database,
                                      clock: FrozenClock) -> None:
    desk(client, db, clock)
    value = client.cookies.get("textdesk_session") or ""
    client.cookies.set("textdesk_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_signin_page_has_labelled_fields(client: TestClient) -> None:
    html = client.get("/signin").text
    assert '<label for="email">' in html and '<label for="password">' in html
    assert "<main" in html and csrf_of(html)
