"""The health page (H3): the practice's lines, green, amber or red, each with its fix."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from textdesk.kit.web import SessionDep, state
from textdesk.pages.common import StaffDep, render
from textdesk.pages.testtext import shown_test
from textdesk.practice import health as health_service

router = APIRouter(include_in_schema=False)

# Each light in words, so that no one needs to tell colours apart.
LIGHT_WORDS = {"green": "OK", "amber": "Needs a look", "red": "Problem"}
LIGHT_CLASSES = {"green": "ok", "amber": "warn", "red": "problem"}


@router.get("/health")
def health_page(request: Request, staff: StaffDep, session: SessionDep) -> Response:
    report = health_service.health(session, staff.practice.id, state(request).clock.now())
    return render(request, "health.html", staff=staff, session=session, report=report,
                  words=LIGHT_WORDS, classes=LIGHT_CLASSES, nav="health",
                  test=shown_test(request, session, staff.practice.id), back="health")
