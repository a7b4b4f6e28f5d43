"""Appointment reminders (G2): rules per practice, and the job that writes each reminder once.

The job runs in every connector. Each (appointment, rule) gets one `reminder_sends` row, ever:
its unique key is taken before the text is written, in the same transaction, so a second
scheduler (or a second connector) that reaches the same reminder writes nothing. A cancelled
appointment cancels what still waits; a moved one starts its reminders over for the new time.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from textdesk.automation import confirmations, store as store
from textdesk.automation.service import first_allowed
from textdesk.automation.templates import get as get_template
from textdesk.domain.appointments import AppointmentStatus
from textdesk.domain.errors import AppError, Invalid, NotFound, SendBlocked, choice
from textdesk.domain.schedule import Plan, ReminderRule, RuleKind, due_at, plan_reminders
from textdesk.domain.templates import Purpose
from textdesk.messaging.service import cancel
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import (
    Appointment,
    Patient,
    Practice,
    ReminderRule as RuleRow,
    ReminderSend,
)

log = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LEAD = re.compile(r"(\d{1,4})\s*([dhm])")
_UNITS = {"d": 24 * 60, "h": 60, "m": 1}
REMINDED = [AppointmentStatus.SCHEDULED.value, AppointmentStatus.CONFIRMED.value]


# --- rules -------------------------------------------------------------------------------------

def create_rule(session: Session, practice: Practice, data: dict[str, Any],
                now: datetime) -> RuleRow:
    """A reminder rule: a lead time ("7d", "2h") or a same-day time ("07:30"), a template."""
    template = get_template(session, practice.id, data.get("template_id"))
    if template.purpose not in (Purpose.REMINDER, Purpose.CONFIRMATION):
        raise Invalid("invalid_template_purpose",
                      "A reminder rule needs a reminder or confirmation template.")
    kind = _kind(data.get("kind", RuleKind.LEAD.value))
    lead = _lead_minutes(data) if kind is RuleKind.LEAD else 0
    send_time = _hhmm(data.get("send_time")) if kind is RuleKind.SAME_DAY else None
    rule = RuleRow(practice_id=practice.id, template_id=template.id, kind=kind.value,
                   lead_minutes=lead, send_time=send_time,
                   excluded_weekdays=_weekdays(data.get("excluded_weekdays", [])),
                   is_active=bool(data.get("is_active", True)), created_at=now)
    store.add(session, rule)
    return rule


def set_active(session: Session, practice: Practice, rule_id: int, active: Any) -> RuleRow:
    rule = store.get_rule(session, practice.id, rule_id)
    if rule is None:
        raise NotFound("reminder_rule_not_found", "No such reminder rule.")
    if not isinstance(active, bool):
        raise Invalid("invalid_is_active", "is_active must be true or false.")
    rule.is_active = active
    return rule


def _kind(value: Any) -> RuleKind:
    return choice(RuleKind, value, "invalid_kind", "rule kind", "kinds")


def _lead_minutes(data: dict[str, Any]) -> int:
    if "lead_minutes" in data:
        minutes = data["lead_minutes"]
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise Invalid("invalid_lead", "lead_minutes must be a whole number.")
    else:
        text = str(data.get("lead") or "").strip().lower()
        match = _LEAD.fullmatch(text)
        if match is None:
            raise Invalid("invalid_lead", f"{text!r} is not a lead time such as 7d, 2h or 30m.")
        minutes = int(match.group(1)) * _UNITS[match.group(2)]
    if not 0 < minutes <= 90 * 24 * 60:
        raise Invalid("invalid_lead", "A lead time is between 1 minute and 90 days.")
    return minutes


def _hhmm(value: Any) -> str:
    try:
        hours, minutes = (int(p) for p in str(value).split(":"))
        return time(hours, minutes).strftime("%H:%M")
    except (ValueError, TypeError) as exc:
        raise Invalid("invalid_send_time", f"{value!r} is not HH:MM.") from exc


def _weekdays(value: Any) -> list[int]:
    if not isinstance(value, list):
        raise Invalid("invalid_excluded_weekdays", "excluded_weekdays must be a list.")
    days: set[int] = set()
    for day in value:
        if isinstance(day, str) and day.strip().lower()[:3] in WEEKDAYS:
            days.add(WEEKDAYS.index(day.strip().lower()[:3]))
        elif isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6:
            days.add(day)
        else:
            raise Invalid("invalid_excluded_weekdays", f"{day!r} is not a weekday (mon … sun).")
    if len(days) == 7:
        raise Invalid("invalid_excluded_weekdays", "Every day cannot be excluded.")
    return sorted(days)


def as_rule(row: RuleRow) -> ReminderRule:
    at = time.fromisoformat(row.send_time) if row.send_time else None
    return ReminderRule(row.id, RuleKind(row.kind), timedelta(minutes=row.lead_minutes), at)


# --- the job -----------------------------------------------------------------------------------

def run(db: Database, now: datetime) -> int:
    """One pass over every practice with rules, one transaction each; returns rows written."""
    with db.transaction() as session:
        practice_ids = store.practices_with_rules(session)
    written = 0
    for practice_id in practice_ids:
        try:
            with db.transaction() as session:
                practice = practice_store.get_practice(session, practice_id)
                if practice is not None:
                    written += schedule(session, practice, now)
        except AppError as error:  # one practice's bad settings never stop the others
            log.warning("reminders of practice %s not written: %s", practice_id, error.code)
    return written


def schedule(session: Session, practice: Practice, now: datetime) -> int:
    rows = store.list_rules(session, practice.id, active_only=True)
    if not rows:
        return 0
    by_id = {row.id: row for row in rows}
    longest = max(timedelta(minutes=row.lead_minutes) for row in rows)
    appointments = store.upcoming_appointments(session, practice.id, now,
                                               now + longest + timedelta(days=1), REMINDED)
    done = store.sent_rule_ids(session, [a.id for a in appointments])
    written = 0
    for appointment in appointments:
        remaining = [as_rule(r) for r in rows if (appointment.id, r.id) not in done]
        patient = practice_store.get_patient(session, practice.id, appointment.patient_id)
        if not remaining or patient is None:
            continue
        opens = first_allowed(practice, patient.phone_e164, now)
        plans = plan_reminders(remaining, appointment.start_at, now, practice.timezone, opens)
        for rule_id, plan in plans.items():
            if plan is not Plan.NOT_YET:
                written += _act(session, practice, appointment, patient, by_id[rule_id], plan,
                                now)
    return written


def _act(session: Session, practice: Practice, appointment: Appointment, patient: Patient,
         rule: RuleRow, plan: Plan, now: datetime) -> int:
    row = ReminderSend(practice_id=practice.id, appointment_id=appointment.id, rule_id=rule.id,
                       status="queued", appointment_start=appointment.start_at, created_at=now)
    if not store.claim_reminder(session, row):
        return 0  # another scheduler wrote this reminder
    reason = None if plan is Plan.SEND else plan.value
    template = get_template(session, practice.id, rule.template_id)
    wants_confirmation = template.purpose == Purpose.CONFIRMATION
    if reason is None and wants_confirmation and \
            appointment.status == AppointmentStatus.CONFIRMED:
        reason = "appointment_confirmed"
    if reason is None:
        due = due_at(as_rule(rule), appointment.start_at, practice.timezone)
        if first_allowed(practice, patient.phone_e164, max(now, due),
                         rule.excluded_weekdays) >= appointment.start_at:
            reason = Plan.TOO_LATE.value
    if reason is None:
        try:
            row.message_id = confirmations.send_reminder(
                session, practice, appointment, patient, template.body, now=now, due=due,
                excluded_weekdays=rule.excluded_weekdays, ask=wants_confirmation).id
        except SendBlocked as blocked:
            reason = blocked.details["blockers"][0]["code"]
    if reason is not None:
        row.status, row.skip_reason = "skipped", reason
    return 1


# --- appointments that change --------------------------------------------------------------

def after_cancellation(session: Session, practice_id: int, appointment: Appointment,
                       now: datetime) -> int:
    """A cancelled appointment cancels its waiting reminders and open confirmation requests."""
    return _withdraw(session, practice_id, appointment, "appointment_cancelled", now)


def after_reschedule(session: Session, practice_id: int, appointment: Appointment,
                     now: datetime) -> int:
    """A moved appointment: what waits is canceled, and its reminders start over."""
    canceled = _withdraw(session, practice_id, appointment, "appointment_moved", now)
    store.forget_reminders(session, practice_id, appointment.id)
    return canceled


def _withdraw(session: Session, practice_id: int, appointment: Appointment, why: str,
              now: datetime) -> int:
    canceled = 0
    for message in store.pending_messages_of_appointment(session, practice_id, appointment.id):
        canceled += cancel(session, message, why, now, source="automation")
    store.close_open_requests(session, practice_id, appointment.id, now)
    return canceled
