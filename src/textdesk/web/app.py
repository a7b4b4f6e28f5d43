"""The FastAPI application: API, webhooks, pages and (when asked) the carrier simulator."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from textdesk import __version__
from textdesk.config import Settings
from textdesk.services.clock import Clock
from textdesk.storage.db import Database
from textdesk.web import errors, pages
from textdesk.web.api import admin, connector, messages, patient_links, patients, practice
from textdesk.web.api import appointments as appointments_api
from textdesk.web.api import automation as automation_api
from textdesk.web.api import consent as consent_api
from textdesk.web.api import health as health_api
from textdesk.web.api import leads as leads_api
from textdesk.web.deps import AppState
from textdesk.web.webhooks import twilio as twilio_webhooks

API_ROUTERS = [admin.router, practice.router, patients.router, messages.router,
               connector.router, twilio_webhooks.router]
API_ROUTERS.append(consent_api.router)
API_ROUTERS.append(health_api.router)
API_ROUTERS.extend([leads_api.router, appointments_api.router])
API_ROUTERS.extend([automation_api.router, patient_links.router])  # G1–G5, and /c/ /r/ links


def create_app(settings: Settings, db: Database | None = None, clock: Clock | None = None,
               simulator: Any | None = None) -> FastAPI:
    """Build the app; `simulator` (a carriers.simulator Simulator) is mounted at the root."""
    db = db or Database(settings.database_url)
    app = FastAPI(title="textdesk", version=__version__,
                  description="Two-way patient texting: API, carrier webhooks, staff pages.")
    app.state.textdesk = AppState(settings=settings, db=db, clock=clock or Clock())
    errors.install(app)
    for router in API_ROUTERS:
        app.include_router(router)
    pages.install(app, settings)  # staff pages, /static, and the session secret
    if simulator is not None:
        app.include_router(simulator.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
