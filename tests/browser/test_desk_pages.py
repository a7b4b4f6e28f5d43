"""Settings and Health in a real browser: the test text, words for people, the banners."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, sign_in
from tests.e2e.conftest import LiveServer
from tests.helpers import Practice

pytestmark = [pytest.mark.browser, pytest.mark.once]


def _desk(live: LiveServer, page: Any) -> Practice:
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    sign_in(page)
    return practice


def test_a_test_text_from_settings_shows_delivered_when_it_arrives(
        live: LiveServer, page: Any) -> None:
    _desk(live, page)
    page.goto("/settings")
    expect(page).to_have_title("Settings · textdesk")
    page.get_by_label("Office mobile (for test texts)").fill("(201) 555-0100")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text("Settings saved.")
    page.get_by_role("button", name="Send a test text").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("(201) 555-0100")
    expect(result.locator(".badge")).to_have_text("Pending")
    expect(result).to_contain_text("connector")  # why it waits, in words
    live.dispatcher.start()
    expect(result.locator(".badge")).to_have_text("Delivered", timeout=20_000)  # no reload
    expect(result).to_contain_text("texting works end to end")


def test_a_test_text_from_health_that_fails_says_why(live: LiveServer, page: Any) -> None:
    _desk(live, page)
    live.dispatcher.start()
    # A test text goes only to the office's own phones: make the office mobile a number the
    # carrier cannot reach.
    page.goto("/settings")
    page.get_by_label("Office mobile (for test texts)").fill("(500) 555-0002")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_have_text("Settings saved.")
    page.goto("/health")
    expect(page.get_by_text("Texting is enabled.")).to_be_visible()
    expect(page.locator(".checks")).not_to_contain_text("Sms enabled")
    page.get_by_label(re.compile("^To ")).fill("(500) 555-0002")  # the carrier: unreachable
    page.get_by_role("button", name="Send a test text").click()
    result = page.locator("#test-result")
    expect(result.locator(".badge")).to_have_text("Failed", timeout=20_000)
    expect(result).to_contain_text("off or out of reach")


def test_words_for_people_and_the_texting_off_banner(live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    live.dispatcher.start()
    icon = page.locator("link[rel='icon']").get_attribute("href")
    assert icon and page.request.get(icon).status == 200
    page.goto("/settings")
    limit = page.get_by_label("Monthly limit for")
    limit.fill("50")
    limit.press("Enter")
    expect(page.get_by_label("Monthly limit for")).to_have_value("50.00")  # not 50.0000
    expect(page.locator("table").first).to_contain_text("$0.00")
    expect(page.locator("table").nth(1)).to_contain_text(
        re.sub(r"\+1(\d{3})(\d{3})(\d{4})", r"(\1) \2-\3", practice.number))
    expect(page.locator("#banner-texting-off")).to_have_count(0)
    page.get_by_label("Texting on for Bright Smiles Dental").uncheck()
    page.get_by_role("button", name="Save").click()
    for path in ("/inbox", "/leads", "/campaigns", "/connector", "/health"):
        page.goto(path)
        expect(page.locator("#banner-texting-off")).to_contain_text("Texting is off")
        assert page.title().endswith("· textdesk") and len(page.title()) > len("· textdesk")
    expect(page.locator("#banner-connector-down")).to_have_count(0)


def test_a_phone_edit_carries_consent_only_when_the_patient_agreed(
        live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    ava = live.patient(practice, "(415) 555-0123", first_name="Ava")
    r = live.http.post(f"/api/v1/patients/{ava['id']}/consent",
                       json={"action": "opt_in", "source": "web_form"}, headers=practice.auth)
    assert r.status_code in (200, 201), r.text
    page.goto(f"/patients/{ava['id']}")
    expect(page).to_have_title("Ava Doe · textdesk")
    expect(page.locator(".consent")).to_contain_text("Opted in")
    # Without the box: the new number starts with no consent, and the page says so.
    page.get_by_label("New wireless phone").fill("(415) 555-0199")
    page.get_by_role("button", name="Save the number").click()
    expect(page.locator(".notice")).to_contain_text("no consent on record")
    expect(page.locator(".consent")).to_contain_text("No consent on record")
    expect(page.locator("#phone")).to_contain_text("(415) 555-0199")
    expect(page.locator("#phone .blockers li[title*='not_opted_in']")).to_have_count(1)
    # With the box: consent is recorded for the new number, with who and when.
    page.get_by_label("New wireless phone").fill("(415) 555-0188")
    page.get_by_label("The patient gave this number and agrees to texts").check()
    page.get_by_role("button", name="Save the number").click()
    expect(page.locator(".notice")).to_contain_text("consent recorded")
    expect(page.locator(".consent")).to_contain_text("Opted in")
    history = page.get_by_label("Consent history")
    expect(history).to_contain_text("frontdesk@example.com")
    expect(history).to_contain_text("the patient gave this number and agrees to texts")
    expect(history).to_contain_text(re.compile(r"(EST|EDT)"))  # when, in the practice's zone
    expect(page.locator("#phone .blockers")).to_be_hidden()
    consent = live.http.get(f"/api/v1/patients/{ava['id']}/consent",
                            headers=practice.auth).json()
    assert consent["state"] == "opted_in", consent
