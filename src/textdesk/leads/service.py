"""Lead use cases: take a lead in (or merge it), move its stage with who/when/why, text it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain import leads as rules
from textdesk.domain.errors import Conflict, Invalid, NotFound
from textdesk.domain.leads import ChangedBy, LeadSettings, LeadSource, LeadStage
from textdesk.domain.phone import parse_phone
from textdesk.leads import store as lead_store

# Reads other features make here; the store stays private to this package.
from textdesk.leads.store import (
    lead_for_phone as lead_for_phone,
    list_leads as list_leads,
    open_lead_by_phone as open_lead_by_phone,
    phones_with_open_leads as phones_with_open_leads,
)
from textdesk.lookups import service as lookups
from textdesk.messaging import service as messaging
from textdesk.messaging.recipients import Recipient
from textdesk.messaging.service import add_commlog
from textdesk.practice.service import create_patient
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Lead, LeadStageChange, Patient, Practice
from textdesk.webhooks import events as webhook_events

NEW_LEAD_FIELDS = {"first_name", "last_name", "phone", "clinic_id", "source", "owner"}
STAFF_FIELDS = {"stage", "reason", "actor", "owner", "first_name", "last_name"}


def find_lead(session: Session, practice_id: int, lead_id: int) -> Lead | None:
    return lead_store.get_lead(session, practice_id, lead_id)


def search_leads(session: Session, practice_id: int, search: str) -> list[Lead]:
    """Leads whose name or phone matches, for staff starting a text."""
    if not (search or "").strip():
        return []
    return lead_store.leads_matching(session, practice_id, search[:100])


def get_lead(session: Session, practice_id: int, lead_id: int) -> Lead:
    lead = lead_store.get_lead(session, practice_id, lead_id)
    if lead is None:
        raise NotFound("lead_not_found", "No such lead.")
    return lead


# --- taking a lead in -----------------------------------------------------------------------

def create_lead(session: Session, practice: Practice, data: dict[str, Any], now: datetime,
                actor: str | None = None) -> tuple[Lead, bool]:
    """A new lead, or the open lead with the same phone, merged (then the bool is True)."""
    unknown = set(data) - NEW_LEAD_FIELDS
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    first = _name(data.get("first_name"), "first_name", required=True)
    last = _name(data.get("last_name"), "last_name", required=False)
    source = _source(data.get("source"))
    owner = _name(data.get("owner"), "owner", required=False) or None
    clinic_id = data.get("clinic_id")
    clinic = (practice_store.get_clinic(session, practice.id, clinic_id) if clinic_id
              else practice_store.first_clinic(session, practice.id))
    if clinic is None:
        raise NotFound("clinic_not_found", "No such clinic.")
    raw = data.get("phone")
    parsed = parse_phone(raw if isinstance(raw, str) else None, practice.default_country)
    if parsed.e164 is None:
        raise Invalid("invalid_phone", parsed.detail or "The phone cannot be read.",
                      problem=parsed.problem.value if parsed.problem else None)
    existing = lead_store.open_lead_by_phone(session, practice.id, parsed.e164)
    if existing is not None:
        return _merge(existing, now), True
    lead = Lead(practice_id=practice.id, clinic_id=clinic.id, first_name=first, last_name=last,
                phone_raw=parsed.raw, phone_e164=parsed.e164, source=source.value, owner=owner,
                stage=LeadStage.NEW.value, inquiry_count=1, last_activity_at=now,
                stage_changed_at=now, created_at=now, updated_at=now)
    if not lead_store.insert_lead(session, lead):  # the same phone came in concurrently
        twin = lead_store.open_lead_by_phone(session, practice.id, parsed.e164)
        if twin is None:
            raise Conflict("lead_conflict", "The lead could not be saved; try again.")
        return _merge(twin, now), True
    _record(session, lead, None, LeadStage.NEW, now, ChangedBy.STAFF, actor,
            f"came in ({source.value})")
    lookups.request(session, practice.id, parsed.e164, now)  # the scheduler asks the carrier
    lead_store.point_conversation_to_lead(session, practice.id, parsed.e164, lead.id)
    return lead, False


def _merge(lead: Lead, now: datetime) -> Lead:
    """Another inquiry from an open lead's phone: counted on it, and it is activity."""
    lead.inquiry_count += 1
    lead.last_activity_at = now
    lead.updated_at = now
    return lead


def _name(value: Any, field: str, *, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Invalid(f"invalid_{field}", f"{field} must be a non-empty string."
                      if required else f"{field} must be a string.")
    return value.strip()[:100]


def _text(value: Any, field: str, max_chars: int = 2000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_chars:
        raise Invalid(f"invalid_{field}", f"{field} must be a string of at most {max_chars} "
                                          f"characters.")
    return value.strip()


def _source(value: Any) -> LeadSource:
    try:
        return LeadSource(value or LeadSource.OTHER)
    except ValueError as exc:
        raise Invalid("invalid_source", f"Unknown lead source {value!r}.",
                      sources=[s.value for s in LeadSource]) from exc


# --- stages ---------------------------------------------------------------------------------

def change_stage(session: Session, lead: Lead, to: LeadStage, now: datetime, *,
                 by: ChangedBy, reason: str, actor: str | None = None) -> bool:
    """Move the lead and keep who, when and why; False if it already is there (or just moved)."""
    current = LeadStage(lead.stage)
    if to is current:
        return False
    if not rules.can_move(current, to):
        raise Conflict("lead_stage_not_allowed",
                       f"A lead cannot move from {current.value} to {to.value}.",
                       stage=current.value, requested=to.value,
                       allowed=sorted(s.value for s in rules.TRANSITIONS[current]))
    if not lead_store.move_stage(session, lead, current, to, now):
        return False  # another writer moved it first; its change is the one on record
    _record(session, lead, current, to, now, by, actor, reason)
    return True


def reopen_lead(session: Session, practice_id: int, lead_id: int, now: datetime, *,
                reason: str, actor: str | None) -> Lead:
    """Staff take a closed lead up again: back to contacted, with who, when and why recorded."""
    lead = get_lead(session, practice_id, lead_id)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reopen_reason_required", "Say why the lead is reopened.")
    current = LeadStage(lead.stage)
    if not rules.can_reopen(current):
        raise Conflict("lead_not_closed", "Only a closed lead can be reopened.",
                       stage=current.value)
    other = lead_store.open_lead_by_phone(session, practice_id, lead.phone_e164)
    if other is not None and other.id != lead.id:
        raise Conflict("lead_phone_has_open_lead",
                       "Another open lead has this phone: work that one instead.",
                       lead_id=other.id)
    lead.last_activity_at = now  # a fresh start: not lost again the moment it reopens
    if lead_store.move_stage(session, lead, current, rules.REOPEN_TO, now):
        _record(session, lead, current, rules.REOPEN_TO, now, ChangedBy.STAFF, actor, reason)
    return lead


def _record(session: Session, lead: Lead, from_stage: LeadStage | None, to: LeadStage,
            now: datetime, by: ChangedBy, actor: str | None, reason: str) -> None:
    lead_store.add_stage_change(session, LeadStageChange(
        practice_id=lead.practice_id, lead_id=lead.id,
        from_stage=from_stage.value if from_stage else None, to_stage=to.value,
        changed_by=by.value, actor=actor, reason=reason[:2000], at=now))
    if from_stage is not None:  # a lead coming in is not a change of stage
        webhook_events.lead_stage_changed(session, lead, from_stage.value, to.value,
                                          by.value, reason[:2000], now)


def staff_update(session: Session, practice_id: int, lead_id: int, changes: dict[str, Any],
                 now: datetime) -> Lead:
    """PATCH by staff: validate everything first, then apply; a stage change is activity."""
    lead = get_lead(session, practice_id, lead_id)
    unknown = set(changes) - STAFF_FIELDS
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    stage = None
    if changes.get("stage") is not None:
        try:
            stage = LeadStage(changes["stage"])
        except ValueError as exc:
            raise Invalid("invalid_stage", f"Unknown stage {changes['stage']!r}.",
                          stages=[s.value for s in LeadStage]) from exc
    reason = _text(changes.get("reason"), "reason")
    actor = _name(changes.get("actor"), "actor", required=False) or "staff"
    names: dict[str, str | None] = {f: _name(changes[f], f, required=f == "first_name")
                                    for f in ("first_name", "last_name", "owner") if f in changes}
    if "owner" in names:
        names["owner"] = names["owner"] or None  # an empty owner means nobody owns it
    if stage is not None and change_stage(session, lead, stage, now, by=ChangedBy.STAFF,
                                          reason=reason or "changed by staff", actor=actor):
        lead.last_activity_at = now
    for field, value in names.items():
        setattr(lead, field, value)
    lead.updated_at = now
    return lead


# --- texting --------------------------------------------------------------------------------

def lead_recipient(session: Session, practice_id: int, lead_id: int) -> Recipient:
    """Who a text to this lead goes to, with its stage for the rule engine (D2)."""
    lead = get_lead(session, practice_id, lead_id)
    patient = (practice_store.get_patient(session, practice_id, lead.patient_id)
               if lead.patient_id else None)
    return Recipient(practice_id, lead.clinic_id, lead.phone_raw,
                     patient.phone_finding if patient else None,
                     patient_id=lead.patient_id, lead_id=lead.id, lead_stage=lead.stage)


def note_texted(session: Session, practice_id: int, lead_id: int, now: datetime,
                actor: str | None = None) -> None:
    """Staff texted the lead: that is activity, and a new lead is now contacted."""
    lead = get_lead(session, practice_id, lead_id)
    lead.last_activity_at = now
    lead.updated_at = now
    target = rules.stage_after_outbound(LeadStage(lead.stage))
    if target is not None:
        change_stage(session, lead, target, now, by=ChangedBy.AUTOMATION, actor=actor,
                     reason="staff texted the lead")


# --- becoming a patient ---------------------------------------------------------------------

def link_patient(session: Session, practice: Practice, lead: Lead, now: datetime,
                 patient: Patient | None = None) -> Patient:
    """The patient this lead is (found by phone, or created from it), with its thread on it."""
    if patient is not None and lead.patient_id not in (None, patient.id):
        raise Conflict("lead_linked_to_other_patient",
                       "The lead is already linked to another patient.",
                       patient_id=lead.patient_id)
    if patient is None and lead.patient_id is not None:
        patient = practice_store.get_patient(session, practice.id, lead.patient_id)
    if patient is None:
        patient = _same_person(session, practice.id, lead) or create_patient(session, practice, {
            "first_name": lead.first_name, "last_name": lead.last_name,
            "wireless_phone": lead.phone_raw, "clinic_id": lead.clinic_id}, now)
    lead.patient_id = patient.id
    lead.updated_at = now
    # The lead's conversation comes along: its texts go on the patient's record (F4).
    for message in lead_store.unlinked_messages_of_lead(session, practice.id, lead.id):
        message.patient_id = patient.id
        add_commlog(session, message, message.created_at, patient_id=patient.id)
        conversation = (messaging.get_conversation(session, practice.id,
                                                       message.conversation_id)
                        if message.conversation_id else None)
        if conversation is not None and conversation.patient_id is None:
            conversation.patient_id = patient.id
    return patient


def _same_person(session: Session, practice_id: int, lead: Lead) -> Patient | None:
    """A patient with the lead's phone and first name: a shared (family) phone alone is not
    enough to say the lead is that patient."""
    name = lead.first_name.casefold()
    return next((p for p in practice_store.patients_by_phone(session, practice_id,
                                                             lead.phone_e164)
                 if p.first_name.casefold() == name), None)


# --- settings -------------------------------------------------------------------------------

def lead_settings(practice: Practice) -> LeadSettings:
    return rules.settings_from(practice.settings)


def update_settings(practice: Practice, changes: dict[str, Any]) -> LeadSettings:
    """Validate every key first, then store them all in Practice.settings."""
    for key, value in changes.items():
        if key not in rules.SETTING_KEYS:
            raise Invalid("unknown_field", f"Unknown lead setting {key!r}.",
                          settings=sorted(rules.SETTING_KEYS))
        if not rules.is_valid_window(value):
            raise Invalid(f"invalid_{key}",
                          f"{key} must be a whole number of days from 1 to "
                          f"{rules.MAX_WINDOW_DAYS}.")
    # A new dict, so that the JSON column sees the change.
    practice.settings = {**(practice.settings or {}), **changes}
    return lead_settings(practice)
