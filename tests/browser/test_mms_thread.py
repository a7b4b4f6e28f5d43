"""Pictures in the conversation page, in a real browser: a patient's picture shown as a
thumbnail that opens full size, a picture that could not be fetched saying so, and a reply
with a picture attached in the send box reaching the simulator with its MediaUrl."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import add_staff, screenshot, sign_in
from tests.e2e.conftest import LiveServer
from textdesk.carriers.simulator.samples import png

pytestmark = [pytest.mark.browser, pytest.mark.once]

AVA = "+14155550123"


def test_an_inbound_picture_is_shown_in_the_thread_and_a_reply_carries_one(
        live: LiveServer, page: Any, tmp_path: Path) -> None:
    practice = live.practice(name="Bright Smiles Dental")
    add_staff(live, practice.id)
    live.patient(practice, "(415) 555-0123", first_name="Ava")
    live.sim("POST", "/sim/config", json={"fetch_media": True})
    r = live.sim("POST", "/sim/inbound", json={
        "from": AVA, "to": practice.number, "body": "Here is my insurance card",
        "media": [{"content_type": "image/png"}, {"content_type": "image/png", "file": "html"}]})
    assert r.status_code == 200, r.text
    live.dispatcher.start()  # the connector fetches the picture, after the webhook answered
    sign_in(page)
    page.get_by_role("link", name="Ava Doe").click()
    expect(page.get_by_role("heading", name="Ava Doe")).to_be_visible()

    thumb = page.locator(".text-in img.thumb")
    expect(thumb).to_be_visible()  # the live thread refreshes once the fetch is done
    expect(thumb).to_have_attribute("alt", "Picture 1 from (415) 555-0123")
    page.wait_for_function("() => document.querySelector('.text-in img.thumb').naturalWidth > 0")
    assert page.evaluate("document.querySelector('.text-in img.thumb').naturalWidth") == 48
    expect(page.locator(".text-in .media-problem")).to_contain_text(
        "The picture could not be fetched")
    screenshot(page, "conversation-mms.png")

    with page.context.expect_page() as opened:
        page.locator(".text-in a.media-open").click()  # full size, in its own tab
    full = opened.value
    full.wait_for_load_state()
    assert full.evaluate("document.contentType") == "image/png"
    full.close()

    picture = tmp_path / "xray.png"
    picture.write_bytes(png(64, 40, (200, 40, 40)))
    page.get_by_label("Attach a picture or PDF").set_input_files(str(picture))
    expect(page.locator("#draft-stats")).to_contain_text("MMS with 1 file · $0.0200")
    send = page.get_by_role("button", name="Send", exact=True)
    expect(send).to_be_enabled()  # a picture alone is a text
    send.click()
    expect(page.locator(".notice")).to_contain_text("Text queued")
    expect(page.locator(".text-out img.thumb")).to_be_visible()
    expect(page.locator(".text-out .badge").last).to_have_text("Delivered")

    (sent,) = live.sim("GET", "/sim/log").json()
    (url,) = sent["media_urls"]
    assert url.startswith(live.base_url + "/m/")
    assert [(f["status_code"], f["content_type"], f["size"]) for f in sent["media_fetches"]] == [
        (200, "image/png", len(picture.read_bytes()))]
