"""The other staff pages: connector, leads board, health, settings, and the demo phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import ADMIN_TOKEN
from tests.helpers import make_patient
from tests.pages.helpers import Desk, csrf_of, desk, sign_in
from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.messaging.store import connector as connector_store
from textdesk.storage.db import Database
from textdesk.storage.models import ConnectorError, Message, Practice


@pytest.fixture
def front(client: TestClient, db: Database, clock: FrozenClock) -> Desk:
    return desk(client, db, clock)


# --- connector --------------------------------------------------------------------------------

def test_connector_is_down_without_heartbeat_and_working_with_one(
        front: Desk, client: TestClient, db: Database, clock: FrozenClock) -> None:
    html = client.get("/connector").text
    assert "Down" in html and "textdesk connector" in html
    with db.transaction() as s:
        connector_store.beat(s, "c1", "host", clock.now())
    html = client.get("/connector").text
    assert "Working" in html and "Down" not in html
    clock.advance(seconds=60)
    assert "Down" in client.get("/connector").text


def test_errors_are_acknowledged_one_by_one_and_only_ours(
        front: Desk, client: TestClient, db: Database, clock: FrozenClock) -> None:
    with db.transaction() as s:
        for code in ("carrier_transient", "carrier_timeout"):
            connector_store.add_error(s, front.practice.id, code, f"{code} happened", clock.now())
        other = Practice(name="Other", api_token_hash="x" * 64, created_at=clock.now())
        s.add(other)
        s.flush()
        connector_store.add_error(s, other.id, "secret_error", "not yours", clock.now())
    with db.transaction() as s:
        ids = {e.code: e.id for e in s.scalars(select(ConnectorError))}
    html = client.get("/connector").text
    assert "Errors to acknowledge (2)" in html and "not yours" not in html
    r = client.post(f"/connector/errors/{ids['carrier_transient']}/acknowledge",
                    data={"csrf_token": csrf_of(html)})
    assert r.status_code == 200 and "Error acknowledged." in r.text
    assert "Errors to acknowledge (1)" in r.text and "Acknowledged (1)" in r.text
    refused = client.post(f"/connector/errors/{ids['secret_error']}/acknowledge",
                          data={"csrf_token": csrf_of(html)})
    assert refused.status_code == 404
    with db.transaction() as s:
        assert s.get(ConnectorError, ids["secret_error"]).acknowledged_at is None
        assert s.get(ConnectorError, ids["carrier_transient"]).acknowledged_by == front.email
    assert client.post(f"/connector/errors/{ids['carrier_timeout']}/acknowledge",
                       data={}).status_code == 403


def test_refresh_makes_waiting_texts_due_now(front: Desk, client: TestClient, db: Database,
                                             clock: FrozenClock) -> None:
    patient = make_patient(client, front.practice)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "Hi"},
                    headers=front.practice.auth)
    assert r.status_code == 201
    with db.transaction() as s:
        s.scalars(select(Message)).one().next_attempt_at = clock.now() + timedelta(hours=1)
    html = client.get("/connector").text
    assert '<strong id="pending-count">1</strong>' in html
    r = client.post("/connector/refresh", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 200 and "retried now" in r.text
    with db.transaction() as s:
        assert s.scalars(select(Message)).one().next_attempt_at == clock.now()


# --- leads ------------------------------------------------------------------------------------

def test_moving_a_lead_to_scheduled_closes_its_thread(front: Desk, client: TestClient,
                                                      db: Database) -> None:
    auth = front.practice.auth
    lead = client.post("/api/v1/leads", json={"first_name": "Lena", "last_name": "Lead",
                                              "phone": "(415) 555-0150", "source": "web_form"},
                       headers=auth).json()
    assert client.post(f"/api/v1/leads/{lead['id']}/consent",
                       json={"action": "opt_in", "source": "web_form"},
                       headers=auth).status_code == 201
    board = client.get("/leads").text
    assert f'id="lead-{lead["id"]}"' in board and "Lena Lead" in board
    r = client.post(f"/leads/{lead['id']}/conversation", data={"csrf_token": csrf_of(board)},
                    follow_redirects=False)
    conversation = r.headers["location"]
    page = client.get(conversation).text
    assert "Lead · New" in page and 'class="button-primary">Send' in page
    r = client.post(f"/leads/{lead['id']}/stage",
                    data={"stage": "scheduled", "csrf_token": csrf_of(board)})
    assert r.status_code == 200 and "Lead moved." in r.text
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=auth).json()["stage"] == "scheduled"
    page = client.get(conversation).text
    assert "lead_inactive_stage" in page and "Phone the patient from the office" in page
    assert 'class="button-primary" disabled>Send' in page
    refused = client.post(f"/leads/{lead['id']}/stage",
                          data={"stage": "new", "csrf_token": csrf_of(board)})
    assert refused.status_code == 409 and "lead_stage_not_allowed" in refused.text


# --- health -----------------------------------------------------------------------------------

def test_health_lines_are_written_out_with_their_fix(front: Desk, client: TestClient) -> None:
    html = client.get("/health").text
    assert "Texting is enabled." in html and "OK" in html
    assert "Problem" in html and "Start the connector" in html  # no connector ever ran


# --- settings ---------------------------------------------------------------------------------

def test_settings_save_everything_or_nothing(front: Desk, client: TestClient) -> None:
    html = client.get("/settings").text
    form = {"csrf_token": csrf_of(html), "default_country": "US", "allowed_countries": "US, CA",
            "url_policy": "block", "quiet_start": "09:00", "quiet_end": "20:00",
            "timezone": "America/Chicago", "office_phone": "", "link_domain": "smiles.example"}
    bad = client.post("/settings/practice", data={**form, "allowed_countries": "US, XX"})
    assert bad.status_code == 422 and "Nothing was changed" in bad.text
    before = client.get("/api/v1/practice", headers=front.practice.auth).json()
    assert before["url_policy"] == "warn" and before["sms_enabled"] is True
    ok = client.post("/settings/practice", data=form)  # sms_enabled unchecked: off
    assert ok.status_code == 200 and "Settings saved." in ok.text
    after = client.get("/api/v1/practice", headers=front.practice.auth).json()
    assert after["sms_enabled"] is False and after["allowed_countries"] == ["CA", "US"]
    assert after["quiet_hours"] == {"start": "09:00", "end": "20:00"}
    assert (after["url_policy"], after["timezone"]) == ("block", "America/Chicago")


def test_clinics_limits_and_numbers(front: Desk, client: TestClient) -> None:
    csrf = csrf_of(client.get("/settings").text)
    r = client.post("/settings/clinics", data={"name": "Uptown", "phone": "(415) 555-0190",
                                               "monthly_limit_usd": "25", "csrf_token": csrf})
    assert r.status_code == 200 and "Uptown" in r.text
    clinics = client.get("/api/v1/clinics", headers=front.practice.auth).json()
    uptown = next(c for c in clinics if c["name"] == "Uptown")
    assert uptown["monthly_limit_usd"] == 25
    r = client.post(f"/settings/clinics/{uptown['id']}/limit",
                    data={"monthly_limit_usd": "-3", "csrf_token": csrf})
    assert r.status_code == 422
    r = client.post(f"/settings/clinics/{uptown['id']}/limit",
                    data={"monthly_limit_usd": "", "csrf_token": csrf})
    assert r.status_code == 200
    clinics = client.get("/api/v1/clinics", headers=front.practice.auth).json()
    assert next(c for c in clinics if c["id"] == uptown["id"])["monthly_limit_usd"] is None
    r = client.post("/settings/numbers", data={"clinic_id": uptown["id"], "e164": "+15005550011",
                                               "kind": "hosted_landline", "csrf_token": csrf})
    assert r.status_code == 200 and "(500) 555-0011" in r.text and "Pending verification" in r.text


def test_only_managers_change_settings(client: TestClient, db: Database,
                                       clock: FrozenClock) -> None:
    front = desk(client, db, clock, manager=False)
    html = client.get("/settings").text
    assert "a manager of the practice can change them" in html
    r = client.post("/settings/clinics", data={"name": "Sneaky", "csrf_token": csrf_of(html)})
    assert r.status_code == 403 and "manager_only" in r.text
    names = [c["name"] for c in client.get("/api/v1/clinics",
                                           headers=front.practice.auth).json()]
    assert "Sneaky" not in names


# --- demo phone -------------------------------------------------------------------------------

def test_the_simulated_phone_exists_in_demo_mode_only(front: Desk, client: TestClient) -> None:
    assert client.get("/demo/phone").status_code == 404
    assert "Simulated phone" not in client.get("/inbox").text


def test_demo_mode_shows_the_phone_with_the_patients(db: Database, clock: FrozenClock) -> None:
    from textdesk.web.app import create_app

    settings = Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                        public_url="http://testserver", demo_mode=True)
    with TestClient(create_app(settings, db, clock)) as c:
        front = desk(c, db, clock)
        make_patient(c, front.practice, "(415) 555-0123", first_name="Ava")
        html = c.get("/demo/phone").text
        assert "Ava Doe — (415) 555-0123" in html and ">STOP<" in html
        r = c.post("/demo/phone", data={"from_phone": "+14155550123", "to_number": "+19999999999",
                                        "body": "hi", "csrf_token": csrf_of(html)},
                   follow_redirects=False)
        assert r.status_code == 303 and "error=bad_number" in r.headers["location"]
        assert "sending numbers" in c.get(r.headers["location"]).text


def test_the_demo_seed_prints_a_staff_sign_in_that_works(db: Database, client: TestClient,
                                                         clock: FrozenClock) -> None:
    from textdesk.practice.demo import seed

    with db.transaction() as s:
        demo = seed(s, clock.now(), staff_password="demo-pass-123")
    assert demo is not None
    line = next(x for x in demo.extra_lines if "Staff sign-in" in x)
    email, password = line.split(": ", 1)[1].split(" / ")
    assert password == "demo-pass-123"
    assert sign_in(client, email, password).status_code == 303
    assert "Settings" in client.get("/settings").text
