"""/docs renders its operations with every request off localhost blocked (no CDN)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser


def test_docs_render_with_the_network_unplugged(page: Any) -> None:
    from playwright.sync_api import expect

    refused: list[str] = []

    def only_localhost(route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**/*", only_localhost)
    page.goto("/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    expect(page.get_by_text("/api/v1/messages/{message_id}").first).to_be_visible()
    assert page.locator(".opblock").count() > 60
    assert refused == []
