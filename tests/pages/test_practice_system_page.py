"""The Practice system page: the Open Dental ClinicNum map, keys that are write-only (a blank
field keeps the stored key, for the same address only), the FHIR R4 connection and sync now for
each; a refused input shows the service's message and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.integrations.conftest import Served, run_sync, serve_simulator
from tests.pages.helpers import Desk, csrf_of, desk
from textdesk.config import Settings
from textdesk.integrations import service, store, sync
from textdesk.integrations.fhir.simulator import FhirServer, FhirSimulator
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

PAGE = "/settings/practice-system"
OD_API = "/api/v1/integrations/opendental"
FHIR_API = "/api/v1/integrations/fhir"


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                    public_url="http://testserver", secret_key="practice-system-page-secret")


@pytest.fixture
def fhir() -> Iterator[tuple[FhirServer, str]]:
    sim = FhirSimulator(FhirServer())
    server, thread, url = serve_simulator(sim)  # type: ignore[arg-type]
    yield sim.server, url
    server.should_exit = True
    thread.join(timeout=5)


def _connected(client: TestClient, db: Database, clock: FrozenClock, od: Served,
               **kwargs: Any) -> Desk:
    front = desk(client, db, clock, **kwargs)
    r = client.put(OD_API, headers=front.practice.auth, json={
        "base_url": od.base_url, "developer_key": od.office.developer_key,
        "customer_key": od.office.customer_key})
    assert r.status_code == 200, r.text
    return front


def _clinic(client: TestClient, front: Desk, name: str) -> int:
    r = client.post("/api/v1/clinics", headers=front.practice.auth, json={"name": name})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _post(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    token = csrf_of(client.get(PAGE).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def _od(client: TestClient, front: Desk) -> dict[str, Any]:
    return client.get(OD_API, headers=front.practice.auth).json()  # type: ignore[no-any-return]


def _error(html: str) -> str:
    return html.split('id="practice-system-error">', 1)[1].split("</p>", 1)[0]


def test_map_open_dental_clinics_and_the_sync_honours_it(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock,
        od: Served) -> None:
    front = _connected(client, db, clock, od)
    north = _clinic(client, front, "North")
    r = _post(client, PAGE + "/clinics", {"clinic_num": ["2", "5", ""],
                                          "clinic_id": [str(north), str(front.practice.clinic_id),
                                                        ""],
                                          "default_clinic_id": str(front.practice.clinic_id)})
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?notice=clinics_saved"
    state = _od(client, front)
    assert state["clinics"] == {"2": north, "5": front.practice.clinic_id}
    assert state["clinic_id"] == front.practice.clinic_id
    page = client.get(PAGE).text
    assert 'name="clinic_num" value="2"' in page and f'value="{north}" selected' in page

    od.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes", clinic_num=2)
    od.clock.tick()
    assert run_sync(db, settings, clock, front.practice).error is None
    [patient] = client.get("/api/v1/patients", headers=front.practice.auth).json()
    assert patient["clinic_id"] == north

    r = _post(client, PAGE + "/clinics", {"clinic_num": ["2", "5"],  # 5: clinic cleared
                                          "clinic_id": [str(north), ""]})
    assert r.status_code == 303
    assert _od(client, front)["clinics"] == {"2": north} and _od(client, front)["clinic_id"] is None


@pytest.mark.parametrize(("rows", "status", "code"), [
    ({"clinic_num": ["abc"], "clinic_id": ["{main}"]}, 422, "invalid_clinics"),
    ({"clinic_num": ["0"], "clinic_id": ["{main}"]}, 422, "invalid_clinics"),
    ({"clinic_num": ["3"], "clinic_id": ["999999"]}, 404, "clinic_not_found"),
    ({"clinic_num": ["3"], "clinic_id": ["north"]}, 404, "clinic_not_found"),
    ({"clinic_num": ["3", " 3"], "clinic_id": ["{main}", "{main}"]}, 422, "invalid_clinics"),
    ({"clinic_num": ["3"], "clinic_id": ["{main}"], "default_clinic_id": "424242"}, 404,
     "clinic_not_found"),
])
def test_a_refused_clinic_map_shows_why_and_changes_nothing(
        client: TestClient, db: Database, clock: FrozenClock, od: Served,
        rows: dict[str, Any], status: int, code: str) -> None:
    front = _connected(client, db, clock, od)
    main = str(front.practice.clinic_id)
    assert _post(client, PAGE + "/clinics", {"clinic_num": ["7"], "clinic_id": [main]}
                 ).status_code == 303
    before = _od(client, front)
    data = {k: [v.replace("{main}", main) for v in vs] if isinstance(vs, list) else vs
            for k, vs in rows.items()}
    r = _post(client, PAGE + "/clinics", data)
    assert r.status_code == status and f"({code})" in _error(r.text)
    assert "Nothing was changed." in _error(r.text)
    assert _od(client, front) == before


def test_keys_are_write_only_and_kept_only_for_their_address(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock,
        od: Served) -> None:
    front = _connected(client, db, clock, od)
    assert _post(client, PAGE + "/clinics", {"clinic_num": ["2"], "clinic_id": [
        str(front.practice.clinic_id)]}).status_code == 303
    page = client.get(PAGE).text
    assert 'id="developer_key-state">set<' in page and 'id="customer_key-state">set<' in page
    assert od.office.developer_key not in page and od.office.customer_key not in page
    # saved again with the key fields left empty: the stored keys, and the clinic map, stay
    r = _post(client, PAGE, {"base_url": od.base_url, "developer_key": "", "customer_key": ""})
    assert r.status_code == 303
    assert run_sync(db, settings, clock, front.practice).error is None  # the keys still work
    assert _od(client, front)["clinics"] == {"2": front.practice.clinic_id}
    # another address: a stored key is never sent to it
    before = _od(client, front)
    r = _post(client, PAGE, {"base_url": "https://elsewhere.example.org/api/v1"})
    assert r.status_code == 422 and "(invalid_developer_key)" in _error(r.text)
    assert "The address changed: enter it again." in _error(r.text)
    assert _od(client, front) == before


def test_sync_now_asks_the_connector_for_a_sync(client: TestClient, db: Database,
                                                settings: Settings, clock: FrozenClock,
                                                od: Served) -> None:
    front = _connected(client, db, clock, od)
    assert run_sync(db, settings, clock, front.practice).error is None
    with db.transaction() as session:  # the connector's job has scheduled the next one
        found = store.get_connection(session, front.practice.id, "opendental")
        assert found is not None
        found.sync_due_at = clock.now().replace(year=2030)
    page = client.get(PAGE).text
    assert 'id="sync-status">Synced<' in page and 'id="sync-last-result">' in page
    clock.advance(minutes=3)
    r = _post(client, PAGE + "/sync", {})
    assert r.status_code == 303 and "notice=sync_asked" in r.headers["location"]
    with db.read() as session:
        found = store.get_connection(session, front.practice.id, "opendental")
        assert found is not None and found.sync_due_at is not None
        assert found.sync_due_at.replace(tzinfo=UTC) == clock.now()


def test_connect_a_fhir_server_from_the_page(
        client: TestClient, db: Database, settings: Settings, clock: FrozenClock, od: Served,
        fhir: tuple[FhirServer, str]) -> None:
    server, url = fhir
    front = _connected(client, db, clock, od)
    r = _post(client, PAGE + "/fhir", {"base_url": url, "token": server.token,
                                       "clinic_id": str(front.practice.clinic_id)})
    assert r.status_code == 303, r.text
    page = client.get(PAGE).text
    assert 'id="fhir-status">Not synced yet<' in page and 'id="token-state">set<' in page
    assert server.token not in page
    assert 'id="sync-status">Off (a FHIR server is connected)<' in page
    assert 'id="sync-now"' not in page and 'id="fhir-sync-now"' in page
    result = sync.sync_practice(db, front.practice.id, "fhir", service.opener(settings),
                                clock.now())
    assert result.error is None
    page = client.get(PAGE).text
    assert 'id="fhir-status">Synced<' in page and 'id="fhir-last-result">0 patients' in page
    # saved again with the token left empty: kept; ticking "remove" removes it
    assert _post(client, PAGE + "/fhir", {"base_url": url}).status_code == 303
    assert "token" in client.get(FHIR_API, headers=front.practice.auth).json()["secrets_set"]
    assert _post(client, PAGE + "/fhir", {"base_url": url, "remove_token": "on"}
                 ).status_code == 303
    assert 'id="token-state">not set<' in client.get(PAGE).text
    r = _post(client, PAGE + "/fhir/sync", {})
    assert r.status_code == 303 and "notice=sync_asked" in r.headers["location"]


@pytest.mark.parametrize(("data", "status", "code"), [
    ({"base_url": "ftp://ehr.example.org/r4", "token": "t"}, 422, "invalid_base_url"),
    ({"base_url": "not a url"}, 422, "invalid_base_url"),
    ({"base_url": "https://ehr.example.org/r4", "token": "t" * 4001}, 422, "invalid_token"),
    ({"base_url": "https://ehr.example.org/r4", "clinic_id": "31337"}, 404, "clinic_not_found"),
])
def test_a_refused_fhir_connection_changes_nothing(
        client: TestClient, db: Database, clock: FrozenClock, od: Served,
        data: dict[str, str], status: int, code: str) -> None:
    front = _connected(client, db, clock, od)
    r = _post(client, PAGE + "/fhir", data)
    assert r.status_code == status and f"({code})" in _error(r.text)
    assert client.get(FHIR_API, headers=front.practice.auth).status_code == 404
    assert _od(client, front)["status"] != "off"  # Open Dental is still the one connected


def test_staff_who_are_not_managers_see_but_cannot_change(
        client: TestClient, db: Database, clock: FrozenClock, od: Served) -> None:
    front = _connected(client, db, clock, od, manager=False)
    before = _od(client, front)
    for path, data in [(PAGE + "/clinics", {"clinic_num": ["2"], "clinic_id": [
            str(front.practice.clinic_id)]}), (PAGE + "/fhir", {"base_url": "https://e.example"}),
            (PAGE + "/fhir/sync", {}), (PAGE, {"base_url": od.base_url})]:
        r = _post(client, path, data)
        assert r.status_code == 403 and "(manager_only)" in r.text
    assert _od(client, front) == before
    assert client.get(FHIR_API, headers=front.practice.auth).status_code == 404
