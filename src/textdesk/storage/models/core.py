"""Core tables: practices, clinics, numbers, patients, consent, messages, commlogs, connector."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from textdesk.storage.models.ids import IdType


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python; naive UTC in the column, on every database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    # `Mapped[int]` is an id; a count or a code says `Integer` on its column.
    type_annotation_map = {int: IdType, datetime: UTCDateTime, Decimal: Numeric(12, 4),
                           dict[str, Any]: JSON}


class Practice(Base):
    __tablename__ = "practices"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sms_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    default_country: Mapped[str] = mapped_column(String(2), default="US")
    allowed_countries: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["US", "CA", "PR"])
    url_policy: Mapped[str] = mapped_column(String(10), default="warn")
    quiet_start: Mapped[str] = mapped_column(String(5), default="08:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="21:00")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    office_phone: Mapped[str | None] = mapped_column(String(20))
    link_domain: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Clinic(Base):
    __tablename__ = "clinics"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    monthly_limit_usd: Mapped[Decimal | None]
    created_at: Mapped[datetime]


class SendingNumber(Base):
    __tablename__ = "sending_numbers"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), index=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    registration_status: Mapped[str] = mapped_column(String(20), default="none")
    takes_replies: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who answers STOP / START / HELP on this number: `carrier` (Twilio's default: the carrier
    # replies itself and textdesk only records) or `textdesk` (textdesk sends the one answer).
    keyword_replies: Mapped[str] = mapped_column(String(10), default="carrier",
                                                 server_default="carrier")
    # A Twilio Messaging Service (MG + 32 hex) the number sends through instead of `From`.
    messaging_service_sid: Mapped[str | None] = mapped_column(String(34), index=True)
    created_at: Mapped[datetime]


class Patient(Base):
    __tablename__ = "patients"
    __table_args__ = (Index("ix_patients_practice_phone", "practice_id", "phone_e164"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone_raw: Mapped[str | None] = mapped_column(String(40))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    phone_finding: Mapped[str | None] = mapped_column(String(20))
    # What parse_phone found when the phone was set ("ok" or a phone blocker code) and the
    # number's country: lets a campaign judge 100,000 patients without parsing each again.
    phone_check: Mapped[str | None] = mapped_column(String(30))
    phone_region: Mapped[str | None] = mapped_column(String(2))
    birthdate: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]


class ConsentEvent(Base):
    """Append-only: rows are inserted, never updated or deleted (enforced in storage and DB)."""

    __tablename__ = "consent_events"
    __table_args__ = (Index("ix_consent_practice_phone", "practice_id", "phone_e164", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    phone_e164: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    action: Mapped[str] = mapped_column(String(10))
    scope: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    evidence_message_id: Mapped[int | None]
    at: Mapped[datetime]


class ConsentCurrent(Base):
    """The state the history adds up to, kept in the same transaction as each event."""

    __tablename__ = "consent_current"
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(20), primary_key=True)
    state: Mapped[str] = mapped_column(String(10))
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    last_source: Mapped[str | None] = mapped_column(String(30))
    last_change_at: Mapped[datetime]


class Conversation(Base):
    """One thread per (practice, other party's phone): what the inbox lists."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("practice_id", "phone_e164"),
        Index("ix_conversations_inbox", "practice_id", "last_message_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    phone_e164: Mapped[str] = mapped_column(String(20))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"))
    is_shared_phone: Mapped[bool] = mapped_column(Boolean, default=False)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    last_message_at: Mapped[datetime]
    last_preview: Mapped[str] = mapped_column(String(120), default="")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("carrier", "carrier_sid"),
        Index("ix_messages_due", "status", "next_attempt_at"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_practice_to", "practice_id", "to_e164", "status"),
        Index("ix_messages_expiry", "status", "expires_at"),  # the expiry sweep
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    number_id: Mapped[int | None] = mapped_column(ForeignKey("sending_numbers.id"))
    direction: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    to_e164: Mapped[str] = mapped_column(String(20))
    from_e164: Mapped[str] = mapped_column(String(20))
    carrier: Mapped[str] = mapped_column(String(20), default="twilio")
    carrier_sid: Mapped[str | None] = mapped_column(String(64))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    encoding: Mapped[str] = mapped_column(String(10), default="GSM-7")
    # Files it carries (MMS), the rows in `media`; kept here so judging needs no join.
    num_media: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cost_usd: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    error_code: Mapped[int | None] = mapped_column(Integer)
    failure_cause: Mapped[str | None] = mapped_column(String(40))
    cancel_reason: Mapped[str | None] = mapped_column(String(40))
    wait_reason: Mapped[str | None] = mapped_column(String(40))  # hold code while not yet due
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(200))
    is_read: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    campaign_id: Mapped[int | None] = mapped_column(index=True)  # set by campaign fan-out
    # The instant after which the text is no use (an appointment begun, a campaign's day over):
    # passed to the carrier as ValidityPeriod, and a text still here then is canceled unsent.
    expires_at: Mapped[datetime | None]
    # An inbound text the carrier itself treated as a keyword (Twilio's OptOutType).
    carrier_keyword: Mapped[str | None] = mapped_column(String(10))


class ClinicSpend(Base):
    """What a clinic's texts cost in one calendar month (UTC, "2026-12"), kept as each text is
    sent: the spending limit reads one row, not a sum of the month's texts (decision 0196)."""

    __tablename__ = "clinic_spend"
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    cost_usd: Mapped[Decimal] = mapped_column(default=Decimal("0"))


class MessageEvent(Base):
    """Every status a message went through, and every carrier callback received."""

    __tablename__ = "message_events"
    __table_args__ = (Index("ix_message_events_message", "message_id", "id"),
                      Index("ix_message_events_sid", "carrier_sid"))
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    carrier_sid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))  # api | connector | callback | reconcile …
    step: Mapped[str | None] = mapped_column(String(20))  # the lifecycle step taken, if any
    note: Mapped[str | None] = mapped_column(String(200))  # e.g. "attempt 2 of 8 after …"
    error_code: Mapped[int | None] = mapped_column(Integer)
    applied: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime]


class CallbackReceipt(Base):
    """Idempotency key of status callbacks: (carrier, MessageSid, status) is acted on once."""

    __tablename__ = "callback_receipts"
    __table_args__ = (UniqueConstraint("carrier", "carrier_sid", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(20))
    carrier_sid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    error_code: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime]
    times_seen: Mapped[int] = mapped_column(Integer, default=1)


class Commlog(Base):
    __tablename__ = "commlogs"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    direction: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class ConnectorHeartbeat(Base):
    __tablename__ = "connector_heartbeats"
    connector_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    last_heartbeat_at: Mapped[datetime]


class ConnectorError(Base):
    __tablename__ = "connector_errors"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int | None] = mapped_column(ForeignKey("practices.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)  # never a body or a phone number
    at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))

