"""The practice's own system in a real browser: connecting Open Dental in Settings, the sync
line on Health (fine, then failing with its fix), and a CSV import's preview then commit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, sign_in
from tests.e2e.conftest import LiveServer
from tests.integrations.conftest import OfficeClock, serve_simulator
from textdesk.integrations import service, sync
from textdesk.integrations.opendental.office import Office
from textdesk.integrations.opendental.simulator import OpenDentalSimulator
from textdesk.kit.clock import Clock

pytestmark = [pytest.mark.browser]


@pytest.fixture
def office() -> Iterator[tuple[OpenDentalSimulator, str]]:
    clock = OfficeClock()
    sim = OpenDentalSimulator(Office(now=clock))
    sim.office.add_patient("Ana", "Silva", "(212) 555-0100", txt_msg_ok="Yes")
    sim.office.add_appointment(1, datetime(2026, 3, 5, 9, 0))
    clock.tick()
    server, thread, url = serve_simulator(sim)
    yield sim, url
    server.should_exit = True
    thread.join(timeout=5)


def sync_now(live: LiveServer, practice_id: int) -> sync.SyncResult:
    """What the connector's practice_system job does for the practice."""
    return sync.sync_practice(live.db, practice_id, "opendental", service.opener(live.settings),
                              Clock().now())


def test_connect_open_dental_in_settings_and_read_the_sync_line_on_health(
        live: LiveServer, page: Any, office: tuple[OpenDentalSimulator, str]) -> None:
    sim, url = office
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    sign_in(page)
    page.goto("/settings")
    page.get_by_role("link", name="Open Dental connection and sync").click()
    expect(page.get_by_role("heading", name="Connect Open Dental")).to_be_visible()
    expect(page.get_by_text("Not connected.")).to_be_visible()
    page.get_by_label("API address").fill(url)
    page.get_by_label("Developer key").fill(sim.office.developer_key)
    page.get_by_label("Customer key").fill(sim.office.customer_key)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#sync-status")).to_have_text("Not synced yet")
    expect(page.get_by_label("Developer key")).to_have_value("")  # never shown again
    assert sim.office.customer_key not in page.content()

    assert sync_now(live, practice.id).error is None
    page.reload()
    expect(page.locator("#sync-status")).to_have_text("Synced")
    expect(page.locator("#write-back-waiting")).to_have_text("0")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync-status")).to_be_visible()
    page.goto("/health")
    line = page.locator("li, tr, div").filter(has_text="Open Dental is connected").last
    expect(line).to_contain_text("last synced")

    # The office's key is changed there: the sync fails, and both pages say what to do.
    sim.office.customer_key = "rotated-by-the-office"
    assert sync_now(live, practice.id).error is not None
    page.reload()
    failing = page.locator("li, tr, div").filter(has_text="Open Dental sync is failing").last
    expect(failing).to_contain_text("refused the developer key or customer key")
    expect(failing).to_contain_text("Setup > Advanced Setup > API")
    page.goto("/settings/practice-system")
    expect(page.locator("#sync-status")).to_have_text("Failing")
    expect(page.locator("#sync-error")).to_contain_text("bad_key")


def test_a_csv_import_shows_its_preview_then_commits(live: LiveServer, page: Any,
                                                     tmp_path: Path) -> None:
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    sign_in(page)
    good = tmp_path / "patients.csv"
    good.write_text("PatNum,FName,LName,Cell Phone,Consent Method,Consent Date,Birthdate\n"
                    "1,Ana,Silva,(212) 555-0100,written,2025-05-01,1980-01-01\n"
                    "2,Ben,Kim,(212) 555-0101,,,1990-02-02\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("first_name,phone,consent_method,consent_at\n"
                   "Ana,(212) 555-0100,written,\n")
    page.goto("/settings")
    page.get_by_role("link", name="Import patients from a CSV file").click()

    page.get_by_label("CSV file", exact=True).set_input_files(str(bad))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-problems")).to_contain_text(
        "Line 2: Consent needs both how")
    expect(page.get_by_role("button", name="Import 1 patients")).to_have_count(0)

    page.get_by_label("CSV file", exact=True).set_input_files(str(good))
    page.get_by_role("button", name="Preview").click()
    table = page.locator("#column-map")
    expect(table.locator("tr").filter(has_text="FName")).to_contain_text("first_name")
    expect(table.locator("tr").filter(has_text="Birthdate")).to_contain_text("not imported")
    expect(page.locator("#preview-counts")).to_contain_text("2 to create")
    expect(page.locator("#preview-counts")).to_contain_text("1 with consent evidence")
    page.get_by_role("button", name="Import 2 patients").click()
    expect(page.locator("#import-done")).to_contain_text("2 created")
    r = live.http.get("/api/v1/patients", headers=practice.auth)
    assert r.status_code == 200
    assert sorted(p["first_name"] for p in r.json()) == ["Ana", "Ben"]
