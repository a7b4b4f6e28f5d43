"""Confirmations (G3): a reminder that asks to confirm opens a request; a reply of C, Y, YES or
CONFIRM, or the signed link in the text, confirms the appointment; staff see who and when.

A reply confirms the most recent open request sent to that phone. It never does so for a phone
that is opted out, nor when the reply itself was a consent keyword: a YES right after a STOP is
an opt-in (C4), handled by the consent reaction that runs first, not a confirmation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from textdesk.automation import store as store
from textdesk.automation.service import make_link, open_link, queue_automated
from textdesk.automation.templates import render_for_appointment
from textdesk.consent import status as consent_status
from textdesk.domain import appointments as appointment_rules
from textdesk.domain.appointments import AppointmentStatus
from textdesk.domain.keywords import squeeze
from textdesk.domain.links import LinkError, LinkKind
from textdesk.domain.messages import Direction
from textdesk.integrations import outbox
from textdesk.messaging.recipients import Recipient
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Appointment, ConfirmationRequest, Message, Patient, Practice
from textdesk.webhooks import events as webhook_events

CONFIRM_WORDS = frozenset({"c", "y", "yes", "confirm"})


def is_confirmation_reply(body: str | None) -> bool:
    """C, Y, YES or CONFIRM as the whole text, ignoring case, spaces and punctuation."""
    return squeeze(body or "") in CONFIRM_WORDS


def send_reminder(session: Session, practice: Practice, appointment: Appointment,
                  patient: Patient, body: str, *, now: datetime, due: datetime,
                  excluded_weekdays: Iterable[int] = (), ask: bool = False) -> Message:
    """Queue one reminder; one that asks to confirm opens a request and carries its link.

    Raises SendBlocked (and writes nothing) when the patient cannot be texted.
    """
    recipient = Recipient(practice.id, appointment.clinic_id, patient.phone_raw,
                          patient.phone_finding, patient_id=patient.id)
    savepoint = session.begin_nested()
    try:
        request = None
        link = ""
        if ask:
            request = ConfirmationRequest(
                practice_id=practice.id, appointment_id=appointment.id, patient_id=patient.id,
                phone_e164=patient.phone_e164 or "", status="open", created_at=now)
            store.add(session, request)
            link = make_link(session, practice, LinkKind.CONFIRM, request.id,
                             appointment.start_at, now)
        text = render_for_appointment(session, practice, body, patient, appointment, link)
        # No use once the appointment is about to begin: it is canceled if it cannot leave
        # before, and the carrier drops it if it waits there past that (ValidityPeriod).
        queued = queue_automated(session, recipient, practice, text, now=now, due=due,
                                 excluded_weekdays=excluded_weekdays,
                                 appointment_start=appointment.start_at)
        if request is not None:
            request.message_id = queued.message.id
    except Exception:
        savepoint.rollback()
        raise
    savepoint.commit()
    return queued.message


def react_to_reply(session: Session, message: Message, now: datetime) -> None:
    """REACTION: a confirmation keyword confirms the latest open request to that phone."""
    if message.direction != Direction.INBOUND or not is_confirmation_reply(message.body):
        return
    if consent_status.is_opted_out(session, message.practice_id, message.from_e164):
        return
    if store.changed_consent(session, message.practice_id, message.id):
        return  # the text was a consent keyword (YES after STOP is an opt-in, not a "yes")
    request = store.latest_open_request(session, message.practice_id, message.from_e164)
    if request is not None:
        _confirm(session, request, "reply", now, answer_message_id=message.id,
                 answered_by="patient (text reply)")


@dataclass(frozen=True)
class LinkResult:
    practice_name: str
    first_name: str
    appointment_start: datetime
    timezone: str
    confirmed: bool  # now, or before
    closed: bool  # the appointment was cancelled, moved or is over


def look_up_link(session: Session, token: str, now: datetime) -> LinkResult:
    """What a confirm link is about (raises LinkError when forged or expired)."""
    request, appointment, practice, patient = _load(session, token, now, lock=False)
    return _result(request, appointment, practice, patient, now)


def confirm_by_link(session: Session, token: str, now: datetime) -> LinkResult:
    request, appointment, practice, patient = _load(session, token, now)
    if request.status == "open":
        _confirm(session, request, "link", now, answered_by="patient (link)")
    return _result(request, appointment, practice, patient, now)


def _load(session: Session, token: str, now: datetime, *, lock: bool = True
          ) -> tuple[ConfirmationRequest, Appointment, Practice, Patient]:
    claim = open_link(session, token, LinkKind.CONFIRM, now)
    request = store.get_request(session, claim.practice_id, claim.subject_id, lock=lock)
    practice = practice_store.get_practice(session, claim.practice_id)
    appointment = (session.get(Appointment, request.appointment_id)
                   if request is not None else None)
    patient = practice_store.get_patient(session, claim.practice_id, request.patient_id) \
        if request is not None else None
    if request is None or practice is None or appointment is None or patient is None:
        raise LinkError("link_invalid", "This link is not valid.")
    return request, appointment, practice, patient


def _result(request: ConfirmationRequest, appointment: Appointment, practice: Practice,
            patient: Patient, now: datetime) -> LinkResult:
    return LinkResult(practice.name, patient.first_name, appointment.start_at,
                      practice.timezone, request.status == "confirmed",
                      request.status == "closed" or not _is_confirmable(appointment, now))


def _is_confirmable(appointment: Appointment, now: datetime) -> bool:
    current = AppointmentStatus(appointment.status)
    return appointment.start_at > now - timedelta(hours=1) and (
        current is AppointmentStatus.CONFIRMED
        or appointment_rules.can_move(current, AppointmentStatus.CONFIRMED))


def _confirm(session: Session, request: ConfirmationRequest, via: str, now: datetime, *,
             answered_by: str, answer_message_id: int | None = None) -> bool:
    appointment = session.get(Appointment, request.appointment_id)
    if appointment is None or not _is_confirmable(appointment, now):
        request.status, request.answered_at = "closed", now
        return False
    if appointment.status != AppointmentStatus.CONFIRMED:
        appointment.status = AppointmentStatus.CONFIRMED.value
        appointment.updated_at = now
    request.status, request.answered_at, request.answered_via = "confirmed", now, via
    request.answer_message_id, request.answered_by = answer_message_id, answered_by
    outbox.after_confirmation(session, appointment, now)  # Confirmed in the practice system
    webhook_events.appointment_confirmed(session, appointment, via, now)
    return True


def of_appointment(session: Session, practice_id: int, appointment_id: int
                   ) -> list[ConfirmationRequest]:
    return store.requests_of_appointment(session, practice_id, appointment_id)
