"""The campaign builder in a real browser: marketing consent recorded on the patient page, then a
campaign whose skip preview is read before it starts, and which reaches that patient."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, sign_in
from tests.e2e.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.once]


def test_marketing_consent_then_a_campaign_with_its_skip_preview(
        live: LiveServer, page: Any) -> None:
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    sign_in(page)
    ava = live.patient(practice, "(415) 555-0123", first_name="Ava")
    for who in (ava, live.patient(practice, "(415) 555-0102", first_name="Ben")):
        r = live.http.post(f"/api/v1/patients/{who['id']}/consent",
                           json={"action": "opt_in", "source": "web_form"}, headers=practice.auth)
        assert r.status_code in (200, 201), r.text
    # Ava agrees to campaigns at the desk: staff record it on her page.
    page.goto(f"/patients/{ava['id']}")
    page.get_by_label("For", exact=True).select_option("marketing")
    page.get_by_label("How (required for consent)").fill("said yes to checkup reminders")
    page.get_by_role("button", name="Record").click()
    expect(page.locator(".notice")).to_have_text("Consent recorded.")
    expect(page.get_by_label("Consent history")).to_contain_text("(marketing)")

    page.goto("/campaigns")
    page.get_by_role("link", name="New campaign").click()
    expect(page).to_have_title("New campaign · textdesk")
    page.get_by_label("Name").fill("Spring checkups")
    page.get_by_role("button", name="Preview who gets it").click()
    preview = page.locator("#campaign-preview")
    expect(preview.locator("#preview-queued")).to_have_text("1")  # Ava only
    expect(preview.locator("#preview-skipped")).to_have_text("1")  # Ben: no marketing consent
    skipped = preview.get_by_label("Skipped, by reason")
    expect(skipped.locator("li[data-reason]")).to_have_count(1)
    expect(skipped).to_contain_text("1 —")
    names = skipped.locator("details.skipped-names")
    expect(names.get_by_role("link", name="Ben")).to_be_hidden()  # names wait for a click
    names.locator("summary").click()
    expect(names.get_by_role("link", name="Ben")).to_have_attribute(
        "href", re.compile(r"^/patients/\d+$"))
    expect(names).not_to_contain_text("Ava")
    expect(preview.locator(".pace")).to_contain_text(
        re.compile(r"About \d+ seconds? at [\d.]+ texts?/s from \(\d{3}\) \d{3}-\d{4}"))
    expect(preview.locator("#preview-sample")).to_contain_text(
        "Hi Maria, it's time for your checkup at Main. Reply or call (415) 555-0100 to book.")
    # Nothing was started by the preview.
    campaigns_now = live.http.get("/api/v1/campaigns", headers=practice.auth)
    if campaigns_now.status_code == 200:
        body = campaigns_now.json()
        listed = body.get("campaigns", body) if isinstance(body, dict) else body
        assert not listed, listed
    page.get_by_role("button", name="Start the campaign").click()
    expect(page.locator(".notice")).to_contain_text("Campaign started")
    card = page.locator("section[id^='campaign-']", has_text="Spring checkups")
    expect(card.locator("[data-count='skipped']")).to_have_text("1")
    expect(card.locator("[data-count='queued']")).to_have_text("1")  # Ava's text, on its way
    live.dispatcher.start()
    ava_thread = page.goto("/inbox")
    assert ava_thread is not None
    expect(page.locator("li.convo", has_text="Ava Doe")).to_have_count(1)  # it reached her
    expect(page.locator("li.convo", has_text="Ben Doe")).to_have_count(0)
