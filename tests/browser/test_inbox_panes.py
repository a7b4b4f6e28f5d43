"""The two-pane inbox in a real browser: trouble in sight, keyboard, live, phone to desktop."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, screenshot, sign_in
from tests.e2e.conftest import LiveServer
from tests.helpers import Practice

pytestmark = [pytest.mark.browser, pytest.mark.once]


def _desk(live: LiveServer, page: Any) -> Practice:
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    sign_in(page)
    return practice


def _text_in(live: LiveServer, practice: Practice, from_: str, body: str) -> None:
    r = live.sim("POST", "/sim/inbound", json={"from": from_, "to": practice.number,
                                               "body": body})
    assert r.status_code == 200, r.text


def _send(live: LiveServer, practice: Practice, patient_id: int, body: str) -> int:
    r = live.http.post("/api/v1/messages", json={"patient_id": patient_id, "body": body},
                       headers=practice.auth)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_trouble_shows_on_each_row_and_the_keyboard_walks_the_list(
        live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    ava = live.patient(practice, "(415) 555-0123", first_name="Ava")
    ben = live.patient(practice, "(500) 555-0002", first_name="Ben")  # the carrier: unreachable
    live.patient(practice, "(415) 555-0104", first_name="Dev")
    _send(live, practice, ava["id"], "Your cleaning is tomorrow at 9.")  # no connector yet
    # Pending while the connector is down: the row says so, with the hold, and every page
    # carries the banner.
    page.reload()
    expect(page.locator("#banner-connector-down")).to_contain_text("The connector is down")
    ava_row = page.locator("li.convo", has_text="Ava Doe")
    expect(ava_row.locator("[data-trouble='pending']")).to_contain_text("connector")
    live.dispatcher.start()
    failed = _send(live, practice, ben["id"], "Please call us back about your visit.")
    live.wait_status(practice, failed, "failed", timeout=20)
    _text_in(live, practice, "+14155550104", "STOP")
    ben_row = page.locator("li.convo", has_text="Ben Doe")
    expect(ben_row.locator("[data-trouble='failed']")).to_be_visible()  # live, no reload
    expect(ben_row.locator("[data-trouble='failed']")).to_have_attribute(
        "title", re.compile("off or out of reach"))
    dev_row = page.locator("li.convo", has_text="Dev Doe")
    expect(dev_row.locator("[data-trouble='opted_out']")).to_have_text(re.compile("Opted out"))
    expect(dev_row).to_have_class(re.compile("is-unread"))
    expect(ava_row.locator("[data-trouble]")).to_have_count(0)  # it left: no trouble now
    page.reload()
    expect(page.locator("#banner-connector-down")).to_have_count(0)
    expect(page.locator("body")).to_have_attribute("data-live", "stream")  # told by the server

    # j / k walk the list; Enter opens the focused conversation beside it.
    page.keyboard.press("j")
    expect(page.locator("li.convo a").first).to_be_focused()
    page.keyboard.press("j")
    expect(page.locator("li.convo a").nth(1)).to_be_focused()
    page.keyboard.press("k")
    page.keyboard.press("ArrowDown")
    expect(page.locator("li.convo a").nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/conversations/\d+$"))
    expect(page.locator("li.convo.is-current")).to_have_count(1)
    expect(page.locator("#thread")).to_be_visible()
    expect(page.locator("#inbox-rows")).to_be_visible()  # both panes on a desktop
    screenshot(page, "inbox-1280.png")


def test_a_phone_sized_screen_shows_one_pane_at_a_time(
        live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    live.patient(practice, "(415) 555-0123", first_name="Ava")
    live.patient(practice, "(415) 555-0102", first_name="Ben")
    _text_in(live, practice, "+14155550102", "Thanks, see you Tuesday!")
    _text_in(live, practice, "+14155550123", "Can I move my cleaning to 10am?")
    page.set_viewport_size({"width": 360, "height": 740})
    page.reload()
    expect(page.locator("#inbox-rows")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the inbox scrolls sideways at 360 px ({width} px wide)"
    screenshot(page, "inbox-360.png")
    page.locator("li.convo", has_text="Ava Doe").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Ava Doe")).to_be_visible()
    expect(page.locator("#inbox-rows")).to_be_hidden()  # the thread has the whole screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("link", name="← Inbox").click()
    expect(page.locator("#inbox-rows")).to_be_visible()


def test_a_new_text_reaches_a_patient_who_never_texted(live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    carla = live.patient(practice, "(415) 555-0103", first_name="Carla")
    r = live.http.post(f"/api/v1/patients/{carla['id']}/consent",
                       json={"action": "opt_in", "source": "web_form"}, headers=practice.auth)
    assert r.status_code in (200, 201), r.text
    live.http.post("/api/v1/leads", json={"first_name": "Lena", "last_name": "Park",
                                         "phone": "(415) 555-0150", "source": "web_form"},
                   headers=practice.auth)
    expect(page.locator("li.convo")).to_have_count(0)  # nobody has texted yet
    page.keyboard.press("n")  # the shortcut opens the picker
    expect(page.get_by_role("heading", name="New text")).to_be_visible()
    who = page.get_by_label("Who? Search patients and leads by name or phone")
    expect(who).to_be_focused()
    who.fill("555-015")  # by phone: finds the lead as it is typed
    expect(page.get_by_role("button", name="Text Lena Park")).to_be_visible()
    who.fill("carla")  # by name
    page.get_by_role("button", name="Text Carla Doe").click()
    expect(page.get_by_role("heading", name="Carla Doe")).to_be_visible()
    box = page.get_by_label("Reply to Carla Doe")
    box.fill("Hi Carla, your new crown is ready: call us to book a fitting.")
    expect(page.locator("#draft-stats")).to_contain_text("1 segment")  # the live checks
    box.fill("Hi Carla, see https://example.com/book for a time")
    expect(page.locator("#draft-check .warnings li[title*='url_in_manual_text']")).to_have_count(1)
    box.fill("Hi Carla, your new crown is ready: call us to book a fitting.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator(".notice")).to_contain_text("Text queued")
    expect(page.locator("li.convo", has_text="Carla Doe")).to_have_count(1)
    live.dispatcher.start()
    expect(page.locator(".text-out .badge").last).to_have_text("Delivered", timeout=20_000)
