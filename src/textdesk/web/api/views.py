"""How rows look in the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from textdesk.domain.messages import Status
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
            "timezone": p.timezone, "office_phone": p.office_phone, "link_domain": p.link_domain}


def clinic_view(c: Clinic) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "phone": c.phone,
            "monthly_limit_usd": float(c.monthly_limit_usd) if c.monthly_limit_usd is not None
            else None}


def number_view(n: SendingNumber) -> dict[str, Any]:
    return {"id": n.id, "clinic_id": n.clinic_id, "e164": n.e164, "kind": n.kind,
            "status": n.status, "registration_status": n.registration_status,
            "takes_replies": n.takes_replies}


def patient_view(p: Patient) -> dict[str, Any]:
    return {"id": p.id, "clinic_id": p.clinic_id, "first_name": p.first_name,
            "last_name": p.last_name, "wireless_phone": p.phone_raw, "phone": p.phone_e164,
            "phone_finding": p.phone_finding}


def event_view(e: MessageEvent) -> dict[str, Any]:
    return {"status": e.status, "at": iso(e.at), "error_code": e.error_code, "source": e.source,
            "applied": e.applied}


def message_view(m: Message, *, holds: list[dict[str, str]] | None = None,
                 history: list[MessageEvent] | None = None,
                 failure: dict[str, Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": m.id, "direction": m.direction, "kind": m.kind, "status": m.status, "body": m.body,
        "to": m.to_e164, "from": m.from_e164, "carrier_sid": m.carrier_sid,
        "segments": m.segments, "encoding": m.encoding, "patient_id": m.patient_id,
        "lead_id": m.lead_id, "created_at": iso(m.created_at), "updated_at": iso(m.updated_at),
        "holds": holds or [], "failure": failure,
        "canceled_reason": m.cancel_reason if m.status == Status.CANCELED else None,
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
