"""How rows look in the API: the views, and the response schemas that document them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from textdesk.domain.messages import Status, tell_event
from textdesk.kit.schemas import Reason, View
from textdesk.storage.models import (
    Clinic,
    Commlog,
    ConsentEvent,
    Message,
    MessageEvent,
    Patient,
    Practice,
    SendingNumber,
)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def practice_view(p: Practice) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "sms_enabled": p.sms_enabled,
            "default_country": p.default_country, "allowed_countries": p.allowed_countries,
            "url_policy": p.url_policy, "quiet_hours": {"start": p.quiet_start, "end": p.quiet_end},
            "timezone": p.timezone, "office_phone": p.office_phone, "link_domain": p.link_domain,
            "lookup_monthly_budget": (p.settings or {}).get("lookup_monthly_budget")}


def clinic_view(c: Clinic) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "phone": c.phone,
            "monthly_limit_usd": float(c.monthly_limit_usd) if c.monthly_limit_usd is not None
            else None}


def number_view(n: SendingNumber) -> dict[str, Any]:
    return {"id": n.id, "clinic_id": n.clinic_id, "e164": n.e164, "kind": n.kind,
            "status": n.status, "registration_status": n.registration_status,
            "takes_replies": n.takes_replies, "keyword_replies": n.keyword_replies,
            "messaging_service_sid": n.messaging_service_sid}


def patient_view(p: Patient) -> dict[str, Any]:
    return {"id": p.id, "clinic_id": p.clinic_id, "first_name": p.first_name,
            "last_name": p.last_name, "wireless_phone": p.phone_raw, "phone": p.phone_e164,
            "phone_finding": p.phone_finding, "phone_check": p.phone_check,
            "birthdate": p.birthdate.isoformat() if p.birthdate else None}


def event_view(e: MessageEvent) -> dict[str, Any]:
    return {"status": e.status, "at": iso(e.at), "error_code": e.error_code, "source": e.source,
            "applied": e.applied, "step": e.step, "note": e.note,
            "summary": tell_event(e.status, e.step, e.note)}


def message_view(m: Message, *, holds: list[dict[str, str]] | None = None,
                 history: list[MessageEvent] | None = None,
                 failure: dict[str, Any] | None = None,
                 media: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": m.id, "direction": m.direction, "kind": m.kind, "status": m.status, "body": m.body,
        "to": m.to_e164, "from": m.from_e164, "carrier_sid": m.carrier_sid,
        "segments": m.segments, "encoding": m.encoding, "patient_id": m.patient_id,
        "lead_id": m.lead_id, "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
        "holds": holds or [], "failure": failure,
        "canceled_reason": m.cancel_reason if m.status == Status.CANCELED else None,
        "media": media or [],
        "expires_at": iso(m.expires_at) if m.expires_at else None,
    }
    if history is not None:
        view["history"] = [event_view(e) for e in history]
    return view


def consent_event_view(e: ConsentEvent) -> dict[str, Any]:
    return {"id": e.id, "action": e.action, "scope": e.scope, "source": e.source,
            "actor": e.actor, "note": e.note, "evidence_message_id": e.evidence_message_id,
            "at": iso(e.at)}


def commlog_view(c: Commlog) -> dict[str, Any]:
    return {"id": c.id, "patient_id": c.patient_id, "message_id": c.message_id,
            "direction": c.direction, "note": c.note, "at": iso(c.at),
            "deletable": c.direction == "outbound"}


# --- the same rows as response schemas (what OpenAPI shows) ----------------------------------

class PracticeOut(View):
    id: int
    name: str
    sms_enabled: bool
    default_country: str
    allowed_countries: list[str] | None = None
    url_policy: str
    quiet_hours: dict[str, str | None]
    timezone: str
    office_phone: str | None = None
    link_domain: str | None = None
    lookup_monthly_budget: int | None = Field(
        None, description="The practice's own monthly lookup budget; null: the deployment's")


class ClinicOut(View):
    id: int
    name: str
    phone: str | None = None
    monthly_limit_usd: float | None = None


class NumberOut(View):
    id: int
    clinic_id: int | None = None
    e164: str
    kind: str
    status: str
    registration_status: str
    takes_replies: bool
    keyword_replies: str = "carrier"
    messaging_service_sid: str | None = None


class PatientOut(View):
    id: int
    clinic_id: int | None = None
    first_name: str
    last_name: str | None = None
    wireless_phone: str | None = None
    phone: str | None = None
    phone_finding: str | None = None
    phone_check: str | None = Field(None, description="`ok`, or why the phone cannot be texted")
    birthdate: str | None = Field(None, description="Date of birth, YYYY-MM-DD, when known")


class EventOut(View):
    status: str
    at: str | None = None
    error_code: int | None = None
    source: str | None = None
    applied: bool | None = None


class FailureOut(View):
    cause: str | None = None
    error_code: int | None = None
    message: str | None = None
    fix: str | None = None


class MediaOut(View):
    """One file of a text (MMS). `url` answers the bytes to the practice's own callers (API
    token or staff session) once the file is kept; a patient's file not kept says why."""

    id: int
    url: str | None = None
    content_type: str
    size: int | None = None
    status: str = Field(description="`stored`, `pending` (being fetched) or `failed`")
    error: str | None = None
    problem: str | None = Field(None, description='e.g. "The picture could not be fetched: …"')


class MessageOut(View):
    id: int
    direction: str
    kind: str
    status: str
    body: str
    to: str
    from_: str = Field(alias="from")
    carrier_sid: str | None = None
    segments: int
    encoding: str
    patient_id: int | None = None
    lead_id: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    holds: list[Reason]
    failure: FailureOut | None = None
    canceled_reason: str | None = None
    media: list[MediaOut] = []
    expires_at: str | None = Field(
        None, description="After this the text is canceled unsent (null: it never expires)")
    history: list[EventOut] | None = None


class ConsentEventOut(View):
    id: int
    action: str
    scope: str
    source: str
    actor: str | None = None
    note: str | None = None
    evidence_message_id: int | None = None
    at: str | None = None


class ConsentOut(View):
    state: str
    marketing: bool | str | None = None
    history: list[ConsentEventOut]


class CommlogOut(View):
    id: int
    patient_id: int | None = None
    message_id: int | None = None
    direction: str
    note: str | None = None
    at: str | None = None
    deletable: bool


class VerdictOut(View):
    can_text: bool
    blockers: list[Reason]
    holds: list[Reason]
    warnings: list[Reason]
