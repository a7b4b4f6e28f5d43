"""Who a text goes to, and everything the rules need to judge it (the SendContext).

`judge` loads the facts for one text; `recheck` judges texts the connector just claimed, with
the facts as they are now, so that a text accepted and then blocked (SMS disabled, number
reported a landline, lead closed …) is canceled instead of sent. Both hand the same
SendContext to the one rule engine, `domain.eligibility.evaluate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from textdesk.consent import status as consent_status
from textdesk.domain.connector import CONNECTOR_DOWN_AFTER, is_alive
from textdesk.domain.consent import NO_CONSENT, ConsentStatus
from textdesk.domain.eligibility import NumberFacts, SendContext, Verdict, evaluate
from textdesk.domain.errors import NotFound
from textdesk.domain.messages import MessageKind
from textdesk.domain.phone import parse_phone
from textdesk.lookups import service as lookups
from textdesk.messaging.store import (
    connector as connector_store,
    judging as judging_store,
    messages as message_store,
)
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Clinic, Message, Practice, SendingNumber


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
    return is_alive(connector_store.last_heartbeat(session), now, down_after)


def month_start(now: datetime) -> datetime:
    """The spending limit's month starts at midnight UTC on the 1st (one calendar for all)."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_spend(session: Session, practice_id: int, clinic_id: int, now: datetime) -> Decimal:
    """The clinic's cost this month: the price of every segment it sent since the 1st."""
    spent = message_store.month_spend(session, practice_id, clinic_id, month_start(now))
    return spent.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class Sender:
    """The practice side of a text: practice, clinic, sending number, spend, connector."""

    practice: Practice
    clinic: Clinic | None
    number: SendingNumber | None
    month_spend_usd: Decimal
    connector_alive: bool


def load_sender(session: Session, practice: Practice, clinic: Clinic | None, now: datetime, *,
                number: SendingNumber | None = None, use_clinic_number: bool = True,
                down_after: timedelta = CONNECTOR_DOWN_AFTER) -> Sender:
    if number is None and use_clinic_number and clinic is not None:
        number = practice_store.clinic_number(session, practice.id, clinic.id)
    spend = (month_spend(session, practice.id, clinic.id, now)
             if clinic is not None and clinic.monthly_limit_usd is not None else Decimal("0"))
    return Sender(practice, clinic, number, spend, is_connector_alive(session, now, down_after))


def context_for(session: Session, sender: Sender, recipient: Recipient, *, now: datetime,
                body: str | None, kind: MessageKind,
                consent: ConsentStatus | None = None, media_count: int = 0,
                line_types: Mapping[str, str] | None = None) -> SendContext:
    """The rules' input; `consent` and `line_types` (by phone; absent: not known) may be given
    when they were loaded for a whole batch."""
    practice, number = sender.practice, sender.number
    parsed = parse_phone(recipient.phone_raw, practice.default_country)
    if consent is None:
        consent = consent_status.current_status(session, practice.id, parsed.e164)
    line_type = (lookups.line_type(session, practice.id, parsed.e164) if line_types is None
                 else line_types.get(parsed.e164 or ""))
    return SendContext(
        now=now,
        sms_enabled=practice.sms_enabled,
        number=(NumberFacts(number.kind, number.status, number.registration_status,
                            number.messaging_service_sid) if number else None),
        phone_raw=recipient.phone_raw,
        default_country=practice.default_country,
        allowed_countries=tuple(practice.allowed_countries or ()),
        phone_finding=recipient.phone_finding,
        line_type=line_type,
        consent=consent,
        lead_stage=recipient.lead_stage,
        body=body,
        media_count=media_count,
        kind=kind,
        url_policy=practice.url_policy,
        link_domain=practice.link_domain,
        connector_alive=sender.connector_alive,
        month_spend_usd=sender.month_spend_usd,
        monthly_limit_usd=sender.clinic.monthly_limit_usd if sender.clinic else None,
    )


@dataclass(frozen=True)
class Judgement:
    """The verdict, with what was loaded to reach it (so senders need not load it twice)."""

    verdict: Verdict
    practice: Practice
    number: SendingNumber | None
    to_e164: str | None
    consent: ConsentStatus = NO_CONSENT  # the phone's consent the verdict was reached with


def judge(session: Session, recipient: Recipient, *, now: datetime, body: str | None = None,
          kind: MessageKind = MessageKind.MANUAL, down_after: timedelta = CONNECTOR_DOWN_AFTER,
          media_count: int = 0) -> Judgement:
    practice = practice_store.get_practice(session, recipient.practice_id)
    if practice is None:
        raise NotFound("practice_not_found", "No such practice.")
    clinic = (practice_store.get_clinic(session, practice.id, recipient.clinic_id)
              if recipient.clinic_id else practice_store.first_clinic(session, practice.id))
    sender = load_sender(session, practice, clinic, now, down_after=down_after)
    ctx = context_for(session, sender, recipient, now=now, body=body, kind=kind,
                      media_count=media_count)
    to_e164 = parse_phone(recipient.phone_raw, practice.default_country).e164
    return Judgement(evaluate(ctx), practice, sender.number, to_e164, ctx.consent)


def patient_recipients(session: Session, practice_id: int, patient_ids: set[int]
                       ) -> dict[int, Recipient]:
    """`patient_recipient` for many patients in one query (unknown ids are absent)."""
    return {pid: Recipient(practice_id, clinic_id, raw, finding, patient_id=pid)
            for pid, clinic_id, raw, finding in practice_store.patient_phones(
                session, practice_id, patient_ids)}


def judge_many(session: Session, practice: Practice, texts: Sequence[tuple[Recipient, str]], *,
               now: datetime, kind: MessageKind = MessageKind.MANUAL) -> list[Judgement]:
    """`judge` for many texts of one practice: the same facts, loaded once per batch (consent
    and line types by phone) and once per clinic, handed to the same rule engine."""
    clinics = {c.id: c for c in practice_store.list_clinics(session, practice.id)}
    first = min(clinics) if clinics else None
    phones = [parse_phone(r.phone_raw, practice.default_country).e164 for r, _ in texts]
    known = {p for p in phones if p}
    consents = judging_store.consent_by_phone(session, practice.id, known)
    line_types = lookups.line_types(session, practice.id, known)
    senders: dict[int | None, Sender] = {}
    judged = []
    for (recipient, body), to_e164 in zip(texts, phones, strict=True):
        clinic_id = recipient.clinic_id or first
        if clinic_id not in senders:
            senders[clinic_id] = load_sender(session, practice, clinics.get(clinic_id or 0), now)
        ctx = context_for(session, senders[clinic_id], recipient, now=now, body=body, kind=kind,
                          consent=consents.get(to_e164 or "", NO_CONSENT),
                          line_types=line_types)
        judged.append(Judgement(evaluate(ctx), practice, senders[clinic_id].number, to_e164,
                                ctx.consent))
    return judged


def is_consent_unchanged(session: Session, judgement: Judgement) -> bool:
    """Whether the phone's consent is still what the judgement was reached with (one read by
    primary key): a judgement made in an earlier read transaction may be acted on only then."""
    now_status = consent_status.current_status(session, judgement.practice.id, judgement.to_e164)
    return now_status == judgement.consent


# --- the connector's second look ------------------------------------------------------------

def recheck(session: Session, messages: Iterable[Message], now: datetime, *,
            connector_alive: bool | None = True) -> list[tuple[Message, Verdict]]:
    """Judge waiting or claimed texts again, with the facts as they are now.

    Each text is judged as it was written: its own number, recipient phone, body and kind.
    Facts are loaded once per batch (consent, carrier findings, lead stages) and once per
    sender. `connector_alive=True` is the connector's own view; None looks at heartbeats.
    """
    batch = list(messages)
    facts = _BatchFacts.load(session, batch)
    senders: dict[tuple[int, int | None, int | None], Sender] = {}
    judged: list[tuple[Message, Verdict]] = []
    for message in batch:
        key = (message.practice_id, message.clinic_id, message.number_id)
        if key not in senders:
            senders[key] = _sender_of(session, message, now)
        ctx = context_for(session, senders[key], facts.recipient(message), now=now,
                          body=message.body, kind=MessageKind(message.kind),
                          consent=facts.consent(message), media_count=message.num_media,
                          line_types=facts.line_types.get(message.practice_id, {}))
        if connector_alive is not None:
            ctx = replace(ctx, connector_alive=connector_alive)
        judged.append((message, evaluate(ctx)))
    return judged


def _sender_of(session: Session, message: Message, now: datetime) -> Sender:
    practice = practice_store.get_practice(session, message.practice_id)
    assert practice is not None  # a message cannot outlive its practice (foreign key)
    clinic = (practice_store.get_clinic(session, practice.id, message.clinic_id)
              if message.clinic_id else None)
    number = practice_store.get_number(session, message.number_id) if message.number_id else None
    return load_sender(session, practice, clinic, now, number=number, use_clinic_number=False)


@dataclass(frozen=True)
class _BatchFacts:
    """Per-recipient facts of a batch of texts, each loaded with one query per practice."""

    consents: dict[tuple[int, str], ConsentStatus]
    findings: dict[tuple[int, str], str]
    stages: dict[tuple[int, int], str]
    line_types: dict[int, dict[str, str]]  # by practice, then phone: the kept line types

    @classmethod
    def load(cls, session: Session, messages: list[Message]) -> _BatchFacts:
        consents, findings, stages, line_types = {}, {}, {}, {}
        for practice_id in {m.practice_id for m in messages}:
            mine = [m for m in messages if m.practice_id == practice_id]
            phones = {m.to_e164 for m in mine}
            leads = {m.lead_id for m in mine if m.lead_id is not None}
            for phone, status in judging_store.consent_by_phone(
                    session, practice_id, phones).items():
                consents[(practice_id, phone)] = status
            for phone, finding in judging_store.findings_by_phone(
                    session, practice_id, phones).items():
                findings[(practice_id, phone)] = finding
            for lead_id, stage in judging_store.lead_stages(session, practice_id, leads).items():
                stages[(practice_id, lead_id)] = stage
            line_types[practice_id] = lookups.line_types(session, practice_id, phones)
        return cls(consents, findings, stages, line_types)

    def consent(self, message: Message) -> ConsentStatus:
        return self.consents.get((message.practice_id, message.to_e164), NO_CONSENT)

    def recipient(self, message: Message) -> Recipient:
        """The recipient as the text addresses it: its phone, what carriers taught, lead."""
        stage = (self.stages.get((message.practice_id, message.lead_id))
                 if message.lead_id is not None else None)
        return Recipient(message.practice_id, message.clinic_id, message.to_e164,
                         self.findings.get((message.practice_id, message.to_e164)),
                         patient_id=message.patient_id, lead_id=message.lead_id,
                         lead_stage=stage)
