"""Who a text goes to, and everything the rules need to judge it (the SendContext)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from textdesk.domain.eligibility import NumberFacts, SendContext, Verdict, evaluate
from textdesk.domain.errors import NotFound
from textdesk.domain.messages import MessageKind
from textdesk.domain.phone import parse_phone
from textdesk.storage import connector as connector_store
from textdesk.storage import consent as consent_store
from textdesk.storage import messages as message_store
from textdesk.storage import practices as practice_store
from textdesk.storage.models import Practice, SendingNumber

CONNECTOR_DOWN_AFTER = timedelta(seconds=15)


@dataclass(frozen=True)
class Recipient:
    practice_id: int
    clinic_id: int | None
    phone_raw: str | None
    phone_finding: str | None = None
    patient_id: int | None = None
    lead_id: int | None = None
    lead_stage: str | None = None


def patient_recipient(session: Session, practice_id: int, patient_id: int) -> Recipient:
    patient = practice_store.get_patient(session, practice_id, patient_id)
    if patient is None:
        raise NotFound("patient_not_found", "No such patient.")
    return Recipient(practice_id, patient.clinic_id, patient.phone_raw, patient.phone_finding,
                     patient_id=patient.id)


def is_connector_alive(session: Session, now: datetime,
                       down_after: timedelta = CONNECTOR_DOWN_AFTER) -> bool:
    last = connector_store.last_heartbeat(session)
    return last is not None and now - last <= down_after


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Judgement:
    """The verdict, with what was loaded to reach it (so senders need not load it twice)."""

    verdict: Verdict
    practice: Practice
    number: SendingNumber | None
    to_e164: str | None


def judge(session: Session, recipient: Recipient, *, now: datetime, body: str | None = None,
          kind: MessageKind = MessageKind.MANUAL, down_after: timedelta = CONNECTOR_DOWN_AFTER,
          ) -> Judgement:
    practice = practice_store.get_practice(session, recipient.practice_id)
    if practice is None:
        raise NotFound("practice_not_found", "No such practice.")
    clinic = (practice_store.get_clinic(session, practice.id, recipient.clinic_id)
              if recipient.clinic_id else practice_store.first_clinic(session, practice.id))
    number = practice_store.clinic_number(session, practice.id, clinic.id) if clinic else None
    parsed = parse_phone(recipient.phone_raw, practice.default_country)
    spend = (Decimal(str(message_store.month_spend(session, practice.id, clinic.id,
                                                    month_start(now))))
             if clinic and clinic.monthly_limit_usd is not None else Decimal("0"))
    ctx = SendContext(
        now=now,
        sms_enabled=practice.sms_enabled,
        number=(NumberFacts(number.kind, number.status, number.registration_status)
                if number else None),
        phone_raw=recipient.phone_raw,
        default_country=practice.default_country,
        allowed_countries=tuple(practice.allowed_countries or ()),
        phone_finding=recipient.phone_finding,
        consent=consent_store.current_status(session, practice.id, parsed.e164),
        lead_stage=recipient.lead_stage,
        body=body,
        kind=kind,
        url_policy=practice.url_policy,
        link_domain=practice.link_domain,
        connector_alive=is_connector_alive(session, now, down_after),
        month_spend_usd=spend,
        monthly_limit_usd=clinic.monthly_limit_usd if clinic else None,
    )
    return Judgement(evaluate(ctx), practice, number, parsed.e164)


def with_phone(recipient: Recipient, phone_raw: str) -> Recipient:
    return replace(recipient, phone_raw=phone_raw, phone_finding=None)
