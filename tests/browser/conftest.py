"""Browser tests: Playwright (Python) driving Debian's Chromium against a live textdesk.

Chromium is /usr/bin/chromium (TEXTDESK_CHROMIUM to override). Without it these tests skip,
except under TEXTDESK_REQUIRE_BROWSER=1 (CI), where a missing browser fails the run.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_database
from tests.e2e.conftest import LiveServer, start_live_server, stop_live_server
from textdesk.kit.clock import Clock
from textdesk.practice.auth import create_user

CHROMIUM = os.environ.get("TEXTDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
# Tests never rewrite tracked files: pictures go to a temporary folder unless
# TEXTDESK_SCREENSHOTS names one (TEXTDESK_SCREENSHOTS=docs/screenshots refreshes the README's).
SCREENSHOTS = (ROOT / os.environ["TEXTDESK_SCREENSHOTS"] if os.environ.get("TEXTDESK_SCREENSHOTS")
               else Path(tempfile.gettempdir()) / "textdesk-screenshots")
STAFF_EMAIL = "frontdesk@example.com"
STAFF_PASSWORD = "front-desk-password"


def _unavailable(reason: str) -> None:
    if os.environ.get("TEXTDESK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"a browser is required (TEXTDESK_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a test dependency
        _unavailable(f"playwright is not installed: {exc}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def live(tmp_path: Path, browser: Any) -> Iterator[LiveServer]:
    """A live textdesk in demo mode whose connector is started by the test, when it wants; it
    can seal secrets (practice-system keys, webhook signing secrets)."""
    db = fresh_database(tmp_path)
    server_live, server = start_live_server(db, with_connector=False, demo_mode=True,
                                            secret_key="browser-test-secret")
    try:
        yield server_live
    finally:
        stop_live_server(server_live, server)
        db.dispose()


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    context = browser.new_context(base_url=live.base_url, viewport={"width": 1280, "height": 860},
                                  locale="en-US", timezone_id="America/New_York")
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


def add_staff(live: LiveServer, practice_id: int, email: str = STAFF_EMAIL) -> None:
    with live.db.transaction() as session:
        create_user(session, practice_id, email, "Robin Front", STAFF_PASSWORD, Clock().now(),
                    is_manager=True)


def sign_in(page: Any, email: str = STAFF_EMAIL) -> None:
    page.goto("/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/inbox")


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.mouse.move(0, 0)  # no hover effects in the picture
    page.screenshot(path=str(path), full_page=full_page)
    return path
