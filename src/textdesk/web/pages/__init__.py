"""The staff pages: server-rendered HTML for the front desk, mounted next to the API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from textdesk.config import Settings
from textdesk.web.pages import (
    campaigns,
    connector,
    conversation,
    demo,
    health,
    inbox,
    leads,
    settings,
    signin,
)
from textdesk.web.pages.common import ensure_session_secret, install_handlers

PAGE_ROUTERS = [signin.router, inbox.router, conversation.router, leads.router,
                connector.router, health.router, settings.router, demo.router]
PAGE_ROUTERS.append(campaigns.router)  # G4: campaign progress, pause and resume


def install(app: FastAPI, app_settings: Settings) -> None:
    """Mount the pages, their static files and their error handling on the app."""
    ensure_session_secret(app, app_settings.session_secret)
    install_handlers(app)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("textdesk.web", "static")]), name="static")
