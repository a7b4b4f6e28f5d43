"""The Audit page for the practice admin: who opened, sent or changed which patient's data,
when (in the practice's time zone) and from where, filtered by staff, patient and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import Response

from textdesk.audit import service as audit
from textdesk.domain.errors import AppError, Forbidden, Invalid
from textdesk.kit.errors import http_status
from textdesk.kit.web import SessionDep
from textdesk.pages.common import StaffDep, render
from textdesk.practice import auth
from textdesk.practice.auth import Staff
from textdesk.storage import directory as practice_store

router = APIRouter(include_in_schema=False)
SHOWN = 500
ACTIONS = {"conversation_opened": "Opened a conversation", "text_sent": "Sent a text",
           "consent_recorded": "Recorded consent", "commlog_deleted": "Deleted a commlog",
           "patient_edited": "Edited a patient", "export": "Exported data"}


@dataclass(frozen=True)
class Filters:
    staff: str
    patient: str
    since: str
    until: str


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise Invalid(f"invalid_{field}", f"{field.capitalize()} is a date like 2026-03-02.",
                      field=field) from exc


def _patient_id(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or len(value.strip()) > 9:
        raise Invalid("invalid_patient", "Patient is a patient number, e.g. 12.",
                      field="patient")
    return int(value.strip())


def _local_midnight(day: date | None, zone: ZoneInfo) -> datetime | None:
    return datetime.combine(day, time(0), tzinfo=zone) if day else None


def _rows(session: Any, staff: Staff, filters: Filters) -> list[dict[str, Any]]:
    zone = _zone(staff.practice.timezone)
    since, until = _day(filters.since, "since"), _day(filters.until, "until")
    events = audit.newest(
        session, staff.practice.id, staff=filters.staff or None,
        patient_id=_patient_id(filters.patient), since=_local_midnight(since, zone),
        until=_local_midnight(until + timedelta(days=1) if until else None, zone), limit=SHOWN)
    names: dict[int, str] = {}
    for pid in {e.patient_id for e in events if e.patient_id is not None}:
        patient = practice_store.get_patient(session, staff.practice.id, pid)
        names[pid] = f"{patient.first_name} {patient.last_name}".strip() if patient else ""
    return [{"at": e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z"),
             "who": e.staff or "API token", "ip": e.ip or "", "action": ACTIONS.get(
                 e.action, e.action.replace("_", " ").capitalize()),
             "patient_id": e.patient_id, "patient": names.get(e.patient_id or 0, ""),
             "subject": e.subject or ""} for e in events]


@router.get("/audit")
def audit_page(request: Request, staff: StaffDep, session: SessionDep, who: str = "",
               patient: str = "", since: str = "", until: str = "") -> Response:
    filters = Filters(who[:200], patient[:20], since[:20], until[:20])
    error: AppError | None = None
    rows: list[dict[str, Any]] = []
    try:
        if not staff.user.is_manager:
            raise Forbidden("manager_only", "Only a manager of the practice can read the "
                                            "audit trail.")
        rows = _rows(session, staff, filters)
    except AppError as refused:
        error = refused
    return render(request, "audit.html", staff=staff, session=session, rows=rows,
                  filters=filters, error=error, shown=SHOWN, nav="audit",
                  users=auth.list_users(session, staff.practice.id) if error is None
                  or error.code != "manager_only" else [],
                  status_code=http_status(error) if error else 200)
