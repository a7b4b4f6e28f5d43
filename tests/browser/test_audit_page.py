"""The Audit page in a real browser: a manager opens it from the menu, reads who did what in
the practice's time zone, and filters by staff, patient and dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import STAFF_EMAIL, add_staff, screenshot, sign_in
from tests.e2e.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.once]


def test_a_manager_filters_the_audit_trail(live: LiveServer, page: Any) -> None:
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    ava = live.patient(practice, "(415) 555-0123", first_name="Ava")  # consent, by the token
    ben = live.patient(practice, "(415) 555-0124", first_name="Ben")
    r = live.sim("POST", "/sim/inbound", json={"from": "+14155550123", "to": practice.number,
                                               "body": "Can I come at 3?"})
    assert r.status_code == 200
    sign_in(page)
    page.get_by_role("link", name="Ava Doe").first.click()  # staff open Ava's conversation
    expect(page.get_by_text("Can I come at 3?").first).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page).to_have_title("Audit trail · textdesk")
    rows = page.locator("#audit-rows tbody tr")
    expect(rows).to_have_count(3)
    today = datetime.now(ZoneInfo("America/New_York"))
    expect(rows.first).to_contain_text(today.strftime("%Y-%m-%d"))
    expect(rows.first).to_contain_text(STAFF_EMAIL)
    expect(rows.first).to_contain_text("Opened a conversation")
    expect(page.locator("#audit-rows")).not_to_contain_text("555")
    expect(page.locator("#audit-rows")).not_to_contain_text("come at 3")

    page.get_by_label("Staff").select_option(STAFF_EMAIL)
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"Ava Doe #{ava['id']}")

    page.get_by_label("Staff").select_option("")
    page.get_by_label("Patient number").fill(str(ben["id"]))
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("API token")
    expect(rows.first).to_contain_text("Recorded consent")
    screenshot(page, "audit-trail.png")

    page.get_by_label("Patient number").fill("")
    page.get_by_label("Until").fill((today - timedelta(days=1)).strftime("%Y-%m-%d"))
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_text("Nothing recorded matches.")
    page.get_by_label("From").fill(today.strftime("%Y-%m-%d"))
    page.get_by_label("Until").fill(today.strftime("%Y-%m-%d"))
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(3)
