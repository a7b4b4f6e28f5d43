"""The staff pages in a real browser, against a live textdesk, simulator and connector."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, screenshot, sign_in
from tests.e2e.conftest import LiveServer
from tests.helpers import Practice
from textdesk.domain.reasons import OPT_BACK_IN

pytestmark = [pytest.mark.browser, pytest.mark.once]

AVA = "+14155550123"


def _text_in(live: LiveServer, practice: Practice, from_: str, body: str) -> None:
    """A patient texts the practice: the simulator posts the signed webhook, as a carrier."""
    r = live.sim("POST", "/sim/inbound", json={"from": from_, "to": practice.number,
                                               "body": body})
    assert r.status_code == 200, r.text


def _desk(live: LiveServer, page: Any, **practice: Any) -> Practice:
    made = live.practice(name="Bright Smiles Dental", **practice)
    add_staff(live, made.id)
    sign_in(page)
    return made


def test_inbox_shows_a_new_text_then_a_reply_goes_pending_to_delivered(
        live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    live.patient(practice, "(415) 555-0123", first_name="Ava")
    for phone, name in (("(415) 555-0102", "Ben"), ("(415) 555-0103", "Carla")):
        live.patient(practice, phone, first_name=name)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    _text_in(live, practice, "+14155550102", "Thanks, see you Tuesday!")
    _text_in(live, practice, "+14155550177", "Hi, do you take new patients?")
    page.reload()
    page.get_by_role("link", name="Ben Doe").click()  # opening a thread reads it
    expect(page.get_by_role("heading", name="Ben Doe")).to_be_visible()
    expect(page.locator("li.convo", has_text="Ben Doe")).not_to_have_class(re.compile("is-unread"))
    # A new text arrives while the page is open: it appears, unread, without a reload.
    _text_in(live, practice, AVA, "Can I move my cleaning to 10am?")
    row = page.locator("li.convo.is-unread", has_text="Ava Doe")
    expect(row).to_be_visible()
    expect(row).to_contain_text("1 unread")
    expect(page.locator("#unread-total")).to_have_attribute("data-count", "2")
    expect(page.locator("#inbox-total")).to_have_text("3 conversations")
    assert page.get_by_role("link", name="Carla Doe").count() == 0  # never texted

    row.get_by_role("link", name="Ava Doe").click()
    expect(page.get_by_role("heading", name="Ava Doe")).to_be_visible()
    expect(page.locator(".text-in .badge")).to_have_text("Received")
    box = page.get_by_label("Reply to Ava Doe")
    box.fill("Yes, 10am works. See you then!")
    expect(page.locator("#draft-stats")).to_contain_text("1 segment · GSM-7 · $0.0079")
    send = page.get_by_role("button", name="Send", exact=True)
    expect(send).to_be_enabled()
    send.click()
    expect(page.locator(".notice")).to_contain_text("Text queued")
    badge = page.locator(".text-out .badge").last
    expect(badge).to_have_text("Pending")
    badge.click()  # the badge opens its why: no connector is running yet
    why = page.locator(".text-out .why").last
    expect(why).to_contain_text("connector")
    expect(why.locator("li[title*='connector_down']")).to_have_count(1)  # the code, as a tooltip
    live.dispatcher.start()
    expect(badge).to_have_text("Delivered", timeout=20_000)  # no reload: the thread is live
    expect(page.locator("#unread-total")).to_have_attribute("data-count", "1")


def test_an_opted_out_patient_shows_the_blocker_and_send_stays_off(
        live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    live.patient(practice, "(415) 555-0104", first_name="Dev")
    live.dispatcher.start()
    _text_in(live, practice, "+14155550104", "STOP")
    page.reload()
    page.get_by_role("link", name="Dev Doe").click()
    expect(page.locator(".consent")).to_contain_text("Opted out")
    blockers = page.locator("#draft-check .blockers")
    expect(blockers.locator("li[title*='opted_out']")).to_have_count(1)
    expect(blockers).to_contain_text(OPT_BACK_IN)
    page.get_by_label("Reply to Dev Doe").fill("Hi Dev, are you still coming in on Friday?")
    expect(page.locator("#draft-stats")).to_contain_text("1 segment")
    expect(blockers).to_be_visible()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()
    expect(page.locator("#send-state")).to_contain_text("Send is off")
    # The carrier answered the STOP itself (its default): textdesk sent no second answer.
    expect(page.locator(".text-out")).to_have_count(0)
    screenshot(page, "conversation-blocked.png", full_page=True)


def test_a_connector_error_is_acknowledged(live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    patient = live.patient(practice, "(415) 555-0123", first_name="Ava")
    live.dispatcher.start()
    live.sim("POST", "/sim/config", json={"fail_next": 1, "fail_status": 503})
    r = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                 "body": "Reminder: cleaning tomorrow at 9."},
                       headers=practice.auth)
    assert r.status_code == 201
    live.wait_status(practice, r.json()["id"], "delivered", timeout=20)
    page.goto("/connector")
    expect(page.get_by_role("heading", name=re.compile("Working"))).to_be_visible()
    expect(page.get_by_role("heading", name="Errors to acknowledge (1)")).to_be_visible()
    errors = page.locator("ul.errors li")
    expect(errors.first).to_contain_text("carrier_transient")
    link = errors.first.get_by_role("link", name="Text to Ava Doe")  # whose text, and where
    expect(link).to_have_attribute("href", re.compile(rf"/conversations/\d+#text-{r.json()['id']}"))
    screenshot(page, "connector.png")
    errors.first.get_by_role("button", name=re.compile("Acknowledge")).click()
    expect(page.locator(".notice")).to_have_text("Error acknowledged.")
    expect(page.get_by_role("heading", name="Errors to acknowledge (0)")).to_be_visible()
    expect(page.get_by_text("Acknowledged (1)")).to_be_visible()


def test_a_lead_moved_to_scheduled_can_no_longer_be_texted(live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    lead = live.http.post("/api/v1/leads", json={"first_name": "Lena", "last_name": "Park",
                                                 "phone": "(415) 555-0150",
                                                 "source": "web_form"},
                          headers=practice.auth).json()
    consent = live.http.post(f"/api/v1/leads/{lead['id']}/consent",
                             json={"action": "opt_in", "source": "web_form"},
                             headers=practice.auth)
    assert consent.status_code == 201, consent.text
    page.goto("/leads")
    card = page.locator(f"#lead-{lead['id']}")
    expect(page.locator("#col-new").locator("..")).to_contain_text("Lena Park")
    card.get_by_role("button", name="Text").click()
    page.get_by_label("Reply to Lena Park").fill("Hi Lena, when suits you for a first visit?")
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_enabled()
    page.goto("/leads")
    card.get_by_label("Move to").select_option("scheduled")
    card.get_by_role("button", name="Move").click()
    expect(page.locator(".notice")).to_have_text("Lead moved.")
    expect(page.locator("#col-scheduled").locator("..")).to_contain_text("Lena Park")
    card.get_by_role("button", name="Open thread").click()
    page.get_by_label("Reply to Lena Park").fill("One more question?")
    expect(page.locator("#draft-check .blockers li[title*='lead_inactive_stage']")).to_have_count(1)
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_disabled()


def test_the_simulated_phone_replies_as_a_patient(live: LiveServer, page: Any) -> None:
    practice = _desk(live, page, keyword_replies="textdesk")  # textdesk answers HELP
    live.patient(practice, "(415) 555-0123", first_name="Ava")
    page.get_by_role("link", name="Simulated phone").click()
    page.get_by_label("Text from").select_option(AVA)
    page.get_by_role("button", name="HELP", exact=True).click()
    expect(page.locator(".notice")).to_contain_text("simulated phone sent its text")
    page.get_by_role("link", name=re.compile("^Inbox")).click()
    page.locator("li.convo", has_text="Ava Doe").get_by_role("link").click()
    expect(page.locator(".text-in .text-body")).to_have_text("HELP")
    # HELP gets the practice's automatic answer (C5); it shows in the thread.
    expect(page.locator(".text-out")).to_have_count(1)
    expect(page.locator(".text-out .text-meta")).to_contain_text("System text")


def test_keyboard_reaches_the_main_content_first(live: LiveServer, page: Any) -> None:
    _desk(live, page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def test_a_lead_is_added_closed_and_reopened_with_its_reason(
        live: LiveServer, page: Any) -> None:
    practice = _desk(live, page)
    page.goto("/leads")
    page.get_by_label("First name").fill("Omar")
    page.get_by_label("Last name").fill("Reyes")
    page.get_by_label("Mobile phone").fill("(415) 555-0160")
    page.get_by_label("How they reached us").select_option("walk_in")
    page.get_by_role("button", name="Add lead").click()
    expect(page.locator(".notice")).to_have_text("Lead added.")
    card = page.locator("article.card", has_text="Omar Reyes")
    expect(page.locator("#col-new").locator("..")).to_contain_text("Omar Reyes")
    expect(card).to_contain_text("(415) 555-0160 · Walk-in")
    card.get_by_label("Move to").select_option("closed_lost")
    card.get_by_role("button", name="Move").click()
    expect(page.locator("#col-closed_lost").locator("..")).to_contain_text("Omar Reyes")
    card.get_by_label("Why reopen?").fill("called back to book a cleaning")
    card.get_by_role("button", name="Reopen").click()
    expect(page.locator(".notice")).to_contain_text("Lead reopened")
    expect(page.locator("#col-contacted").locator("..")).to_contain_text("Omar Reyes")
    lead_id = int((card.get_attribute("id") or "lead-0").split("-")[1])
    lead = live.http.get(f"/api/v1/leads/{lead_id}", headers=practice.auth).json()
    last = lead["stage_history"][-1]
    assert (last["from"], last["to"], last["by"]) == ("closed_lost", "contacted", "staff")
    assert last["reason"] == "called back to book a cleaning"
    assert last["actor"] == "frontdesk@example.com"
