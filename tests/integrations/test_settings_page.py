"""The Settings section: a manager connects Open Dental from the page; its sync state shows."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integrations.conftest import Served, run_sync
from tests.pages.helpers import csrf_of, desk
from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database


def test_connect_from_the_page_sync_and_see_the_state(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock,
        od: Served) -> None:
    office = desk(client, db, clock)
    page = client.get("/settings")
    assert 'href="/settings/practice-system"' in page.text
    form = client.get("/settings/practice-system")
    assert "Not connected" in form.text
    r = client.post("/settings/practice-system", data={
        "base_url": od.base_url, "developer_key": od.office.developer_key,
        "customer_key": od.office.customer_key, "csrf_token": csrf_of(form.text)},
        follow_redirects=False)
    assert r.status_code == 303
    od.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes")
    od.clock.tick()
    run_sync(db, settings, clock, office.practice)
    shown = client.get("/settings/practice-system").text
    assert 'id="sync-status">Synced<' in shown
    assert od.office.customer_key not in shown and od.office.developer_key not in shown
    od.office.customer_key = "rotated"
    run_sync(db, settings, clock, office.practice)
    shown = client.get("/settings/practice-system").text
    assert 'id="sync-status">Failing<' in shown and "Setup &gt; Advanced Setup &gt; API" in shown


def test_a_bad_address_is_refused_on_the_page(client: TestClient, db: Database,
                                              clock: FrozenClock) -> None:
    desk(client, db, clock)
    form = client.get("/settings/practice-system")
    r = client.post("/settings/practice-system", data={
        "base_url": "not a url", "developer_key": "d", "customer_key": "c",
        "csrf_token": csrf_of(form.text)})
    assert r.status_code == 422 and "invalid_base_url" in r.text and "Not connected" in r.text


def test_a_connected_fhir_server_shows_its_state_and_open_dental_goes_off(
        client: TestClient, db: Database, clock: FrozenClock, od: Served) -> None:
    office = desk(client, db, clock)
    auth = office.practice.auth
    assert client.put("/api/v1/integrations/opendental", headers=auth, json={
        "base_url": od.base_url, "developer_key": "d", "customer_key": "c"}).status_code == 200
    r = client.put("/api/v1/integrations/fhir", headers=auth,
                   json={"base_url": "https://ehr.example.org/fhir/r4", "token": "secret-t"})
    assert r.status_code == 200, r.text
    shown = client.get("/settings/practice-system").text
    assert "FHIR server sync" in shown and 'id="fhir-status">Not synced yet<' in shown
    assert 'id="sync-status">Off (a FHIR server is connected)<' in shown
    assert "secret-t" not in shown
