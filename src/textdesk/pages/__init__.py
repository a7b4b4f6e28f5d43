"""The staff pages: server-rendered HTML for the front desk, mounted next to the API."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from textdesk.config import Settings
from textdesk.pages import (
    audit,
    campaign_builder,
    campaigns,
    connector,
    conversation,
    demo,
    events,
    health,
    inbox,
    leads,
    patient,
    patient_import,
    practice_system,
    settings,
    signin,
    testtext,
    webhook_endpoints,
)
from textdesk.pages.common import ensure_session_secret, install_handlers

PAGE_ROUTERS = [signin.router, inbox.router, conversation.router, leads.router,
                connector.router, health.router, settings.router, demo.router,
                events.router, testtext.router, patient.router]
PAGE_ROUTERS.append(campaign_builder.router)  # before /campaigns/{id}: /campaigns/new
PAGE_ROUTERS.append(campaigns.router)  # G4: campaign progress, pause and resume
PAGE_ROUTERS.append(practice_system.router)  # Settings: the practice's own system
PAGE_ROUTERS.append(patient_import.router)  # Settings: patients from a CSV file
PAGE_ROUTERS.append(audit.router)  # the audit trail, for the practice's managers
PAGE_ROUTERS.append(webhook_endpoints.router)  # Settings: event webhooks, for managers


def install(app: FastAPI, app_settings: Settings) -> None:
    """Mount the pages, their static files and their error handling on the app."""
    ensure_session_secret(app, app_settings.session_secret)
    install_handlers(app)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("textdesk.pages", "static")]), name="static")
