"""Campaign queries: the audience, its fact groups, its recipients, and campaigns themselves.

A campaign's 100,000 recipients are never judged one by one. The audience is grouped by the
facts the rule engine reads (clinic, phone check, country, carrier finding, consent, the
lookup's line type); the service judges each group once and hands back a verdict per group;
then one INSERT … SELECT writes every recipient with its skip reason (the texts are written by
`store.texts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from textdesk.storage.db import is_postgres_session
from textdesk.storage.models import (
    Appointment,
    ConsentCurrent,
    Patient,
    PhoneLookup,
)
from textdesk.storage.models.campaigns import Campaign, CampaignAudience, CampaignRecipient


@dataclass(frozen=True)
class Filters:
    clinic_id: int | None = None
    from_csv: bool = False  # only patients listed in campaign_audience
    no_upcoming_appointment: bool = False
    last_visit_before: datetime | None = None


@dataclass(frozen=True)
class Group:
    """Audience members who look the same to the rule engine."""

    clinic_id: int
    phone_check: str | None
    phone_region: str | None
    phone_finding: str | None
    consent_state: str | None
    marketing: bool | None
    line_type: str | None  # the carrier lookup's answer, when one was given
    sample_phone: str | None
    size: int

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.clinic_id, self.phone_check, self.phone_region, self.phone_finding,
                self.consent_state, self.marketing, self.line_type)


_KEY_COLUMNS = (Patient.clinic_id, Patient.phone_check, Patient.phone_region,
                Patient.phone_finding, ConsentCurrent.state, ConsentCurrent.marketing,
                PhoneLookup.line_type)


def _audience(practice_id: int, campaign_id: int, filters: Filters, now: datetime,
              *columns: Any) -> Select[Any]:
    consent = and_(ConsentCurrent.practice_id == Patient.practice_id,
                   ConsentCurrent.phone_e164 == Patient.phone_e164)
    # The line type the rules read (lookups.line_type): answered lookups only.
    looked_up = and_(PhoneLookup.practice_id == Patient.practice_id,
                     PhoneLookup.phone_e164 == Patient.phone_e164, PhoneLookup.status == "done")
    query = (select(*columns).select_from(Patient).outerjoin(ConsentCurrent, consent)
             .outerjoin(PhoneLookup, looked_up).where(Patient.practice_id == practice_id))
    if filters.clinic_id is not None:
        query = query.where(Patient.clinic_id == filters.clinic_id)
    if filters.from_csv:
        query = query.where(exists().where(CampaignAudience.campaign_id == campaign_id,
                                           CampaignAudience.patient_id == Patient.id))
    if filters.no_upcoming_appointment:
        query = query.where(~exists().where(
            Appointment.practice_id == practice_id, Appointment.patient_id == Patient.id,
            Appointment.start_at >= now, Appointment.status.in_(("scheduled", "confirmed"))))
    if filters.last_visit_before is not None:
        query = query.where(~exists().where(
            Appointment.practice_id == practice_id, Appointment.patient_id == Patient.id,
            Appointment.start_at >= filters.last_visit_before,
            Appointment.status == "completed"))
    return query


def unchecked_phones(session: Session, practice_id: int, campaign_id: int, filters: Filters,
                     now: datetime) -> list[tuple[int, str | None]]:
    """Audience members whose phone was never checked (written by some older path)."""
    query = _audience(practice_id, campaign_id, filters, now, Patient.id, Patient.phone_raw)
    return [(i, raw) for i, raw in session.execute(query.where(Patient.phone_check.is_(None)))]


def record_phone_checks(session: Session, checks: Sequence[dict[str, Any]]) -> None:
    if checks:
        session.execute(update(Patient), list(checks))


def groups(session: Session, practice_id: int, campaign_id: int, filters: Filters,
           now: datetime) -> list[Group]:
    query = _audience(practice_id, campaign_id, filters, now, *_KEY_COLUMNS,
                      func.min(Patient.phone_raw), func.count()).group_by(*_KEY_COLUMNS)
    return [Group(*row) for row in session.execute(query)]


def _verdict_case(verdicts: dict[tuple[Any, ...], str | None]) -> ColumnElement[Any]:
    """The skip reason of each member, from its group's verdict (NULL: it may be texted)."""
    whens = [(and_(*[col.is_not_distinct_from(value) for col, value in zip(_KEY_COLUMNS, key,
                                                                          strict=True)]),
              literal(reason))
             for key, reason in verdicts.items() if reason is not None]
    return case(*whens, else_=literal(None, String)) if whens else literal(None, String)


def write_recipients(session: Session, campaign: Campaign, filters: Filters,
                     verdicts: dict[tuple[Any, ...], str | None], now: datetime) -> None:
    """Every member once, queued or skipped with its reason; one text per phone."""
    verdict = _verdict_case(verdicts)
    phone = func.coalesce(Patient.phone_e164, cast(Patient.id, String))
    first = func.row_number().over(partition_by=phone,
                                   order_by=(verdict.is_(None).desc(), Patient.id))
    members = _audience(campaign.practice_id, campaign.id, filters, now, Patient.id,
                        verdict.label("reason"), first.label("rn")).subquery()
    final = case((members.c.reason.is_not(None), members.c.reason),
                 (members.c.rn > 1, literal("duplicate_phone")), else_=literal(None, String))
    status = case((final.is_(None), literal("queued")), else_=literal("skipped"))
    session.execute(insert(CampaignRecipient).from_select(
        ["campaign_id", "patient_id", "status", "skip_reason"],
        select(literal(campaign.id), members.c.id, status, final)))
    if is_postgres_session(session):
        # 100,000 rows just written: without fresh statistics the planner joins them as if
        # they were a handful, row by row.
        session.execute(text("ANALYZE campaign_recipients"))


def recipient_counts(session: Session, campaign_id: int) -> dict[str | None, int]:
    """Members per skip reason (None: queued)."""
    rows = session.execute(select(CampaignRecipient.skip_reason, func.count())
                           .where(CampaignRecipient.campaign_id == campaign_id)
                           .group_by(CampaignRecipient.skip_reason))
    return {reason: int(n) for reason, n in rows}


def skipped_people(session: Session, campaign_id: int, per_reason: int
                   ) -> dict[str, list[tuple[int, str, str]]]:
    """Up to `per_reason` skipped members of each reason, by name: (patient id, first, last)."""
    rows = session.execute(
        select(CampaignRecipient.skip_reason, Patient.id, Patient.first_name, Patient.last_name)
        .join(Patient, Patient.id == CampaignRecipient.patient_id)
        .where(CampaignRecipient.campaign_id == campaign_id,
               CampaignRecipient.skip_reason.is_not(None))
        .order_by(CampaignRecipient.skip_reason, Patient.last_name, Patient.first_name,
                  Patient.id))
    people: dict[str, list[tuple[int, str, str]]] = {}
    for reason, patient_id, first, last in rows:
        named = people.setdefault(str(reason), [])
        if len(named) < per_reason:
            named.append((patient_id, first, last))
    return people


def queued_per_clinic(session: Session, campaign_id: int) -> dict[int, int]:
    rows = session.execute(
        select(Patient.clinic_id, func.count()).join(
            CampaignRecipient, CampaignRecipient.patient_id == Patient.id)
        .where(CampaignRecipient.campaign_id == campaign_id,
               CampaignRecipient.status == "queued").group_by(Patient.clinic_id))
    return {clinic: int(n) for clinic, n in rows}


# --- campaigns themselves -------------------------------------------------------------------

def get_campaign(session: Session, practice_id: int, campaign_id: int) -> Campaign | None:
    return session.scalar(select(Campaign).where(
        Campaign.id == campaign_id, Campaign.practice_id == practice_id).with_for_update())


def find_campaign(session: Session, practice_id: int, campaign_id: int) -> Campaign | None:
    """The campaign, for reading (no lock)."""
    return session.scalar(select(Campaign).where(
        Campaign.id == campaign_id, Campaign.practice_id == practice_id))


def running_campaigns(session: Session) -> list[Campaign]:
    """Every running campaign, locked (the scheduler may complete it)."""
    return list(session.scalars(select(Campaign).where(Campaign.status == "running")
                                .order_by(Campaign.id).with_for_update(skip_locked=True)))


def list_campaigns(session: Session, practice_id: int, limit: int = 200) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.practice_id == practice_id)
                                .order_by(Campaign.id.desc()).limit(limit)))
