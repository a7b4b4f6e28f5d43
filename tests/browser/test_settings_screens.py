"""Settings screens in a real browser: an event webhook endpoint added from the page, its
signing secret shown once with a working Copy button and gone on reload; the Open Dental
ClinicNum map edited on the Practice system page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, screenshot, sign_in
from tests.e2e.conftest import LiveServer
from tests.integrations.conftest import OfficeClock, serve_simulator
from textdesk.integrations.opendental.office import Office
from textdesk.integrations.opendental.simulator import OpenDentalSimulator

pytestmark = [pytest.mark.browser]


def test_add_an_endpoint_see_its_secret_once_and_not_after_a_reload(
        live: LiveServer, page: Any) -> None:
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page)
    page.goto("/settings")
    page.get_by_role("link", name="Endpoints that receive textdesk's events").click()
    expect(page.get_by_role("heading", name="Event webhooks")).to_be_visible()
    expect(page.locator("#endpoints tbody")).to_contain_text("No endpoint yet")

    page.get_by_label("Receiver URL").fill("ftp://integrations.brightsmiles.example/textdesk")
    page.get_by_label("message.received").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#webhook-error")).to_contain_text("must start with https://")
    expect(page.locator("#webhook-error")).to_contain_text("invalid_webhook_url")
    expect(page.locator("#endpoints tbody")).to_contain_text("No endpoint yet")
    expect(page.get_by_label("message.received")).to_be_checked()  # what was typed stays

    page.get_by_label("Receiver URL").fill("https://integrations.brightsmiles.example/textdesk")
    page.get_by_label("appointment.confirmed").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("Copy its signing secret now")).to_be_visible()
    secret = page.get_by_label("Signing secret", exact=True)
    expect(secret).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/=]{40,}$"))
    value = secret.input_value()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == value
    row = page.locator("#endpoints tbody tr").first
    expect(row).to_contain_text("integrations.brightsmiles.example/textdesk")
    expect(row).to_contain_text("message.received")
    expect(row).to_contain_text("appointment.confirmed")
    expect(row.locator(".endpoint-state")).to_have_text("On")
    screenshot(page, "webhook-secret-once.png", full_page=True)

    page.reload()
    expect(page.locator("#new-secret")).to_have_count(0)
    assert value not in page.content()
    expect(page.locator("#endpoints tbody tr")).to_have_count(1)


@pytest.fixture
def office() -> Iterator[tuple[OpenDentalSimulator, str]]:
    sim = OpenDentalSimulator(Office(now=OfficeClock()))
    server, thread, url = serve_simulator(sim)
    yield sim, url
    server.should_exit = True
    thread.join(timeout=5)


def test_map_open_dental_clinics_on_the_practice_system_page(
        live: LiveServer, page: Any, office: tuple[OpenDentalSimulator, str]) -> None:
    sim, url = office
    practice = live.practice(name="Bright Smiles Dental")
    r = live.http.post("/api/v1/clinics", headers=practice.auth, json={"name": "Uptown"})
    assert r.status_code == 201, r.text
    assert live.http.put("/api/v1/integrations/opendental", headers=practice.auth, json={
        "base_url": url, "developer_key": sim.office.developer_key,
        "customer_key": sim.office.customer_key}).status_code == 200
    add_staff(live, practice.id)
    sign_in(page)
    page.goto("/settings/practice-system")
    expect(page.locator("#developer_key-state")).to_have_text("set")
    page.get_by_label("New ClinicNum 1", exact=True).fill("2")
    page.get_by_label("textdesk clinic for new ClinicNum 1").select_option(label="Uptown")
    page.get_by_label("New ClinicNum 2", exact=True).fill("2")
    page.get_by_label("textdesk clinic for new ClinicNum 2").select_option(label="Main")
    page.get_by_role("button", name="Save clinic map").click()
    expect(page.locator("#practice-system-error")).to_contain_text("on two rows")
    expect(page.get_by_label("ClinicNum, row 1")).to_have_value("2")  # the rows as typed
    page.get_by_label("ClinicNum, row 2").fill("5")
    page.get_by_role("button", name="Save clinic map").click()
    expect(page.get_by_text("Clinic map saved")).to_be_visible()
    expect(page.get_by_label("textdesk clinic for ClinicNum 2")).to_have_value(
        str(r.json()["id"]))
    expect(page.get_by_label("textdesk clinic for ClinicNum 5")).to_have_value(
        str(practice.clinic_id))
    page.get_by_label("FHIR base URL").fill("https://ehr.brightsmiles.example/fhir/r4")
    screenshot(page, "practice-system.png", full_page=True)
