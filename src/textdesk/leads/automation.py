"""Lead automation (D2–D4): bookings win leads, silence loses them, replies engage them, and a
reply in a closed lead thread gets one redirect to the clinic a day.

Every move goes through services.leads.change_stage, so each is kept with who (automation),
when and why, and each is a compare-and-set: running any of this twice changes nothing more.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.consent import status as consent_status
from textdesk.domain import leads as rules
from textdesk.domain.consent import ConsentSource, ConsentState
from textdesk.domain.keywords import Keyword, classify
from textdesk.domain.leads import ChangedBy, LeadStage
from textdesk.domain.messages import Direction, MessageKind
from textdesk.leads import store as lead_store
from textdesk.leads.service import change_stage, lead_settings, link_patient
from textdesk.messaging.recipients import Recipient, judge
from textdesk.messaging.service import queue_message
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import Appointment, Lead, Message, Practice

log = logging.getLogger(__name__)
REDIRECT_ACTOR = "auto:lead_redirect"


# --- bookings -------------------------------------------------------------------------------

def after_booking(session: Session, practice: Practice, lead: Lead, appointment: Appointment,
                  now: datetime) -> None:
    """A booking for the lead's person: won inside the window, else scheduled."""
    lead.last_activity_at = now
    settings = lead_settings(practice)
    target = rules.stage_after_booking(LeadStage(lead.stage), lead.created_at,
                                       appointment.created_at, settings)
    if target is None:
        return
    where = ("inside" if target is LeadStage.CLOSED_WON else "outside")
    change_stage(session, lead, target, now, by=ChangedBy.AUTOMATION,
                 reason=f"appointment #{appointment.id} booked {where} the "
                        f"{settings.appointment_window_days}-day appointment window")


def after_cancellation(session: Session, practice_id: int, appointment: Appointment,
                       now: datetime) -> None:
    """A scheduled lead whose only appointment fell through goes back to being worked."""
    if appointment.lead_id is None:
        return
    lead = lead_store.get_lead(session, practice_id, appointment.lead_id)
    if lead is None:
        return
    others = [a for a in lead_store.live_of_lead(session, practice_id, lead.id,
                                                        lead.patient_id)
              if a.id != appointment.id]
    target = rules.stage_after_cancellation(LeadStage(lead.stage), bool(others))
    if target is not None:
        lead.last_activity_at = now  # a fresh start: not lost the moment it reopens
        change_stage(session, lead, target, now, by=ChangedBy.AUTOMATION,
                     reason=f"appointment #{appointment.id} was cancelled")


# --- the scheduler job ----------------------------------------------------------------------

def run(db: Database, now: datetime) -> int:
    """One pass over every practice: wins first, then losses. Returns how many leads moved."""
    with db.transaction() as session:
        practice_ids = [p.id for p in practice_store.list_practices(session)]
    moved = 0
    for practice_id in practice_ids:  # one practice, one transaction
        with db.transaction() as session:
            practice = practice_store.get_practice(session, practice_id)
            if practice is not None:
                moved += close_won(session, practice, now) + close_lost(session, practice, now)
    return moved


def close_won(session: Session, practice: Practice, now: datetime) -> int:
    """Open leads whose person booked (here or elsewhere): won inside the window."""
    settings = lead_settings(practice)
    by_lead: dict[int, tuple[Lead, list[Appointment]]] = {}
    for lead, appointment in lead_store.open_leads_with_bookings(session, practice.id):
        by_lead.setdefault(lead.id, (lead, []))[1].append(appointment)
    moved = 0
    for lead, booked in by_lead.values():
        targets = {rules.stage_after_booking(LeadStage(lead.stage), lead.created_at,
                                             a.created_at, settings): a for a in booked}
        won = targets.get(LeadStage.CLOSED_WON)
        if won is None:
            if LeadStage.SCHEDULED in targets:  # booked, but outside the window
                moved += change_stage(session, lead, LeadStage.SCHEDULED, now,
                                      by=ChangedBy.AUTOMATION,
                                      reason="booked outside the appointment window")
            continue
        if lead.patient_id is None:
            patient = practice_store.get_patient(session, practice.id, won.patient_id)
            link_patient(session, practice, lead, now, patient)
        moved += change_stage(
            session, lead, LeadStage.CLOSED_WON, now, by=ChangedBy.AUTOMATION,
            reason=f"appointment #{won.id} booked inside the "
                   f"{settings.appointment_window_days}-day appointment window")
    return moved


def close_lost(session: Session, practice: Practice, now: datetime) -> int:
    """Active leads with no activity for the inactivity window are lost."""
    settings = lead_settings(practice)
    moved = 0
    for lead in lead_store.quiet_leads(session, practice.id,
                                       rules.inactivity_cutoff(now, settings)):
        moved += change_stage(session, lead, LeadStage.CLOSED_LOST, now,
                              by=ChangedBy.AUTOMATION,
                              reason=f"no activity for {settings.inactivity_days} days")
    return moved


# --- replies (a REACTION, services.replies) -------------------------------------------------

def react_to_lead_reply(session: Session, message: Message, now: datetime) -> None:
    """A reply from a lead: activity; engages an active lead; a closed thread redirects (D3)."""
    if message.direction != Direction.INBOUND or message.lead_id is None:
        return
    lead = lead_store.get_lead(session, message.practice_id, message.lead_id)
    if lead is None or not _is_ordinary_reply(session, message, now):
        return
    lead.last_activity_at = now
    lead.updated_at = now
    stage = LeadStage(lead.stage)
    if rules.is_active(stage):
        target = rules.stage_after_reply(stage)
        if target is not None:
            change_stage(session, lead, target, now, by=ChangedBy.AUTOMATION,
                         reason="the lead replied")
        return
    redirect_to_clinic(session, lead, message, now)


def _is_ordinary_reply(session: Session, message: Message, now: datetime) -> bool:
    """Not a keyword the consent reactions already answered (STOP, START, HELP, revocation)."""
    keyword = classify(message.body)
    if keyword not in (Keyword.NONE, Keyword.YES):
        return False
    status = consent_status.current_status(session, message.practice_id, message.from_e164)
    # A YES that just opted the phone back in was a keyword, answered as such.
    return not (status.state is ConsentState.OPTED_IN and status.last_change_at == now
                and status.last_source == ConsentSource.KEYWORD.value)


def redirect_to_clinic(session: Session, lead: Lead, message: Message,
                       now: datetime) -> Message | None:
    """At most one automated "contact the clinic directly" text per lead per day."""
    number = practice_store.get_number(session, message.number_id) if message.number_id else None
    if number is not None and not number.takes_replies:
        return None  # that line already answered that it takes no replies (G5)
    if not rules.may_redirect(lead.last_redirect_at, now):
        return None
    if consent_status.is_opted_out(session, lead.practice_id, message.from_e164):
        return None  # as for every automated answer but the STOP confirmation itself
    practice = practice_store.get_practice(session, lead.practice_id)
    clinic = practice_store.get_clinic(session, lead.practice_id, lead.clinic_id)
    if practice is None:
        return None
    body = rules.redirect_text(clinic.name if clinic else practice.name,
                               (clinic.phone if clinic else None) or practice.office_phone)
    # The same rule engine judges it, as a system text: the closed stage is what it answers.
    recipient = Recipient(practice.id, lead.clinic_id, message.from_e164,
                          patient_id=lead.patient_id, lead_id=lead.id)
    judgement = judge(session, recipient, now=now, body=body, kind=MessageKind.SYSTEM)
    if not judgement.verdict.can_text or judgement.number is None or not judgement.to_e164:
        log.info("lead %s redirect not sent: %s", lead.id,
                 ", ".join(r.code for r in judgement.verdict.blockers))
        return None
    if not lead_store.claim_redirect(session, lead, now, rules.redirect_cutoff(now)):
        return None  # a concurrent reply took today's redirect
    return queue_message(session, practice, to_e164=judgement.to_e164,
                         from_e164=judgement.number.e164, number_id=judgement.number.id,
                         clinic_id=judgement.number.clinic_id, body=body,
                         kind=MessageKind.SYSTEM, now=now, patient_id=lead.patient_id,
                         lead_id=lead.id, actor=REDIRECT_ACTOR)
