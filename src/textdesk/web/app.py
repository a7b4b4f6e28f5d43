"""The FastAPI application: API, webhooks, pages and (when asked) the carrier simulator."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from textdesk import __version__, pages
from textdesk.appointments import api as appointments_api
from textdesk.audit import api as audit_api
from textdesk.audit.trail import AuditMiddleware
from textdesk.automation.api import patient_links, staff as automation_api
from textdesk.campaigns import api as campaigns_api
from textdesk.config import Settings
from textdesk.consent import api as consent_api
from textdesk.idempotency.middleware import IdempotencyMiddleware
from textdesk.integrations import api as integrations_api
from textdesk.kit import errors
from textdesk.kit.clock import Clock
from textdesk.kit.limits import UPLOAD_FORM_ALLOWANCE, BodyLimit
from textdesk.kit.web import AppState
from textdesk.leads import api as leads_api
from textdesk.media import api as media_api, service as media_service
from textdesk.messaging.api import connector, messages, reasons, webhooks as twilio_webhooks
from textdesk.practice.api import admin, health as health_api, patients, practice
from textdesk.storage.db import Database
from textdesk.webhooks import api as webhooks_api

API_ROUTERS = [admin.router, practice.router, patients.router, messages.router,
               connector.router, twilio_webhooks.router]
API_ROUTERS.append(consent_api.router)
API_ROUTERS.append(health_api.router)
API_ROUTERS.extend([leads_api.router, appointments_api.router])
API_ROUTERS.extend([automation_api.router, campaigns_api.router,  # G1–G5
                    patient_links.router])  # the /c/ and /r/ links in texts
API_ROUTERS.append(integrations_api.router)  # the practice's own system (Open Dental)
API_ROUTERS.append(integrations_api.patients_router)  # patients from a CSV file
API_ROUTERS.append(audit_api.router)
API_ROUTERS.extend([media_api.router, media_api.link_router])  # MMS files and their links
# Requests that carry a file (an MMS's picture) may be as large as one file, plus the form.
UPLOAD_PATHS = (r"^/api/v1/media$", r"^/conversations/[0-9]+/send$")
API_ROUTERS.append(webhooks_api.router)  # event webhooks for integrations
API_ROUTERS.append(reasons.router)  # the catalogue of stable codes


def app_from_environment() -> FastAPI:
    """The app as each web process of `textdesk serve --workers N` builds it: its settings
    from the TEXTDESK_* environment the serving process set (decision 0188)."""
    return create_app(Settings())


def create_app(settings: Settings, db: Database | None = None, clock: Clock | None = None,
               simulator: Any | None = None) -> FastAPI:
    """Build the app; `simulator` (a carriers.simulator Simulator) is mounted at the root."""
    db = db or Database(settings.database_url)
    db.public_url = settings.public_url  # links made while serving point here
    media_service.blob_store(settings)  # a media store that cannot be built stops the start
    # /docs and /redoc load Swagger UI and ReDoc from files shipped in the package: no CDN.
    app: FastAPI = FastAPIOffline(title="textdesk", version=__version__,
                                  description="Two-way patient texting: API, carrier webhooks, "
                                              "staff pages.")
    app.state.textdesk = AppState(settings=settings, db=db, clock=clock or Clock())
    errors.install(app)
    app.add_middleware(AuditMiddleware)  # inside: a replayed answer is not audited twice
    app.add_middleware(IdempotencyMiddleware, error_response=errors.error_response)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,  # the first to read
                       upload_paths=UPLOAD_PATHS,
                       upload_max_bytes=settings.media_max_bytes + UPLOAD_FORM_ALLOWANCE)
    app.add_middleware(errors.UnexpectedErrors)  # outermost: added last
    for router in API_ROUTERS:
        app.include_router(router)
    pages.install(app, settings)  # staff pages, /static, and the session secret
    if simulator is not None:
        app.include_router(simulator.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
