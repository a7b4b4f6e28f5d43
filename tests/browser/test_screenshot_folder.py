"""The browser tests' pictures go to a temporary folder unless asked: a test run leaves the
committed screenshots as they are."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import ROOT, SCREENSHOTS


@pytest.mark.once
@pytest.mark.skipif(bool(os.environ.get("TEXTDESK_SCREENSHOTS")),
                    reason="a refresh of the README's pictures was asked for")
def test_screenshots_are_written_outside_the_checkout() -> None:
    assert not SCREENSHOTS.resolve().is_relative_to(ROOT.resolve())
