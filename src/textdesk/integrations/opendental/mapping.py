"""Open Dental rows → neutral records (pure): status words, Text OK, the office's local time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from textdesk.integrations.base import ExternalAppointment, ExternalPatient, ExternalStatus, TextOk

OD_TIME = "%Y-%m-%d %H:%M:%S"
TEXT_OK = {"Yes": TextOk.YES, "No": TextOk.NO}
# AptStatus → what it means for reminders. Planned and notes are not visits.
APT_STATUS = {"Scheduled": ExternalStatus.SCHEDULED, "ASAP": ExternalStatus.SCHEDULED,
              "Complete": ExternalStatus.COMPLETED, "Broken": ExternalStatus.CANCELLED,
              "UnschedList": ExternalStatus.CANCELLED}
CONFIRMED_WORDS = frozenset({"Confirmed"})  # the `confirmed` name of the office's definition
ACTIVE_PAT_STATUS = frozenset({"Patient", "NonPatient", ""})


def patient_from_od(row: dict[str, Any]) -> ExternalPatient:
    return ExternalPatient(
        external_id=str(row["PatNum"]),
        first_name=str(row.get("Preferred") or row.get("FName") or "").strip() or "Patient",
        last_name=str(row.get("LName") or "").strip(),
        wireless_phone=str(row.get("WirelessPhone") or "").strip(),
        text_ok=TEXT_OK.get(str(row.get("TxtMsgOk")), TextOk.UNKNOWN),
        is_active=str(row.get("PatStatus", "Patient")) in ACTIVE_PAT_STATUS,
        clinic=_clinic(row))


def appointment_from_od(row: dict[str, Any], zone: ZoneInfo) -> ExternalAppointment:
    status = APT_STATUS.get(str(row.get("AptStatus")), ExternalStatus.IGNORED)
    if status is ExternalStatus.SCHEDULED and row.get("confirmed") in CONFIRMED_WORDS:
        status = ExternalStatus.CONFIRMED
    local = datetime.strptime(str(row["AptDateTime"]), OD_TIME).replace(tzinfo=zone)
    return ExternalAppointment(
        external_id=str(row["AptNum"]), patient_external_id=str(row["PatNum"]),
        start_at=local.astimezone(UTC), status=status,
        provider=str(row.get("provAbbr") or row.get("ProvNum") or ""), clinic=_clinic(row))


def _clinic(row: dict[str, Any]) -> str:
    """ClinicNum 0 is "no clinic" (an office without clinics, or headquarters)."""
    value = str(row.get("ClinicNum") or "").strip()
    return "" if value in ("", "0") else value
