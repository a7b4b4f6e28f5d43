"""The practice's own setup: settings, clinics and sending numbers."""

from __future__ import annotations

from typing import Annotated, Any

from textdesk.kit.schemas import (
    Body,
    Documented,
    Id,
    LooseBool,
    LooseInt,
    LooseStr,
    LooseStrList,
    Text20,
    Text200,
)
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.messaging.api.views import (
    ClinicOut,
    NumberOut,
    PracticeOut,
    clinic_view,
    number_view,
    practice_view,
)
from textdesk.practice.service import add_number, create_clinic, update_number, update_practice
from textdesk.storage import directory as practice_store

router = api_router(tags=["practice"])


class PracticeChanges(Body):
    """Any of these; each is checked by the practice's rules (e.g. `invalid_timezone`)."""

    name: LooseStr = None
    sms_enabled: LooseBool = None
    default_country: LooseStr = None
    allowed_countries: LooseStrList = None
    url_policy: LooseStr = None
    quiet_hours: Annotated[Any, Documented({"type": "object", "properties": {
        "start": {"type": "string", "example": "08:00"},
        "end": {"type": "string", "example": "21:00"}}})] = None
    timezone: LooseStr = None
    office_phone: LooseStr = None
    link_domain: LooseStr = None
    lookup_monthly_budget: Annotated[LooseInt, Documented({
        "type": ["integer", "null"],
        "description": "Line-type lookups a calendar month (UTC); null: the deployment's "
                       "TEXTDESK_LOOKUP_MONTHLY_BUDGET"})] = None


class NewClinic(Body):
    name: Text200
    phone: Text20 | None = None
    monthly_limit_usd: float | Text20 | None = None


class NumberChanges(Body):
    """Any of these: who answers STOP / START / HELP, the messaging service it sends through."""

    keyword_replies: Annotated[LooseStr, Documented({
        "type": "string", "enum": ["carrier", "textdesk"],
        "description": "carrier (Twilio's default): the carrier answers keywords and textdesk "
                       "only records them; textdesk: textdesk sends the one answer"})] = None
    messaging_service_sid: Annotated[LooseStr, Documented({
        "type": ["string", "null"], "example": "MG" + "0" * 32,
        "description": "send through this Twilio Messaging Service instead of From"})] = None
    takes_replies: LooseBool = None


class NewNumber(Body):
    e164: Text20
    kind: Text20 = "local"


@router.get("/practice", response_model=PracticeOut)
def get_practice(practice: PracticeDep) -> dict[str, Any]:
    return practice_view(practice)


@router.patch("/practice", response_model=PracticeOut)
def patch_practice(body: PracticeChanges, practice: PracticeDep,
                   session: SessionDep) -> dict[str, Any]:
    return practice_view(update_practice(session, practice, body.given()))


@router.post("/clinics", status_code=201, response_model=ClinicOut)
def post_clinic(body: NewClinic, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    clinic = create_clinic(session, practice, body.name, body.phone, body.monthly_limit_usd,
                           app.clock.now())
    return clinic_view(clinic)


@router.get("/clinics", response_model=list[ClinicOut])
def get_clinics(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [clinic_view(c) for c in practice_store.list_clinics(session, practice.id)]


@router.post("/clinics/{clinic_id}/numbers", status_code=201, response_model=NumberOut)
def post_number(clinic_id: Id, body: NewNumber, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    return number_view(add_number(session, practice, clinic_id, body.e164, body.kind,
                                  app.clock.now()))


@router.get("/numbers", response_model=list[NumberOut])
def get_numbers(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [number_view(n) for n in practice_store.list_numbers(session, practice.id)]


@router.patch("/numbers/{number_id}", response_model=NumberOut)
def patch_number(number_id: Id, body: NumberChanges, practice: PracticeDep,
                 session: SessionDep) -> dict[str, Any]:
    """Who answers keywords, the messaging service, and `{takes_replies: false}` for a line
    nobody reads (G5)."""
    return number_view(update_number(session, practice, number_id, body.given()))
