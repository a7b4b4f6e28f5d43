"""Tables of automation."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class MessageTemplate(Base):
    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("practice_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    name: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReminderRule(Base):
    __tablename__ = "reminder_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("message_templates.id"))
    kind: Mapped[str] = mapped_column(String(20))  # lead | same_day
    lead_minutes: Mapped[int] = mapped_column(Integer, default=0)
    send_time: Mapped[str | None] = mapped_column(String(5))  # HH:MM for same_day
    excluded_weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class ReminderSend(Base):
    """One row per (appointment, rule), ever: the unique key makes each reminder once."""

    __tablename__ = "reminder_sends"
    __table_args__ = (UniqueConstraint("appointment_id", "rule_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("reminder_rules.id"))
    status: Mapped[str] = mapped_column(String(20))  # queued | skipped
    skip_reason: Mapped[str | None] = mapped_column(String(40))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    appointment_start: Mapped[datetime]  # the start it was planned for
    created_at: Mapped[datetime]


class ConfirmationRequest(Base):
    __tablename__ = "confirmation_requests"
    __table_args__ = (Index("ix_confirmations_phone", "practice_id", "phone_e164", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    phone_e164: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    status: Mapped[str] = mapped_column(String(20))  # open | confirmed | closed
    created_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    answered_via: Mapped[str | None] = mapped_column(String(20))  # reply | link | staff
    answer_message_id: Mapped[int | None]
    answered_by: Mapped[str | None] = mapped_column(String(200))


class LinkKey(Base):
    """The secret each practice's confirm and recall links are signed with."""

    __tablename__ = "link_keys"
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime]


class RecallRequest(Base):
    """A time a patient asked for on the recall page; staff call back to book it."""

    __tablename__ = "recall_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    preferred_day: Mapped[date] = mapped_column(Date)
    part_of_day: Mapped[str] = mapped_column(String(20))  # morning | afternoon | evening
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    handled_at: Mapped[datetime | None]


class NumberPace(Base):
    """Each sending number's next free slot and today's segment count (see domain.pacing)."""

    __tablename__ = "number_pacing"
    number_id: Mapped[int] = mapped_column(ForeignKey("sending_numbers.id"), primary_key=True)
    next_at: Mapped[datetime]
    day: Mapped[date] = mapped_column(Date)
    day_segments: Mapped[int] = mapped_column(Integer, default=0)
    # What the carrier granted this number, when not its kind's default (operator-set).
    segments_per_second: Mapped[float | None] = mapped_column(Float)
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    burst_segments: Mapped[int | None] = mapped_column(Integer)
