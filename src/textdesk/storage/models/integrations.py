"""Tables of practice-system integrations: connections, cursors, id mappings, write-back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class SystemConnection(Base):
    """One practice's link to its practice-management system; keys are stored encrypted."""

    __tablename__ = "system_connections"
    __table_args__ = (UniqueConstraint("practice_id", "system"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    system: Mapped[str] = mapped_column(String(30))  # opendental | fhir
    base_url: Mapped[str] = mapped_column(String(500))
    developer_key_sealed: Mapped[str] = mapped_column(Text)  # Fernet token, never the key
    customer_key_sealed: Mapped[str] = mapped_column(Text)
    token_sealed: Mapped[str | None] = mapped_column(Text)  # a bearer token (FHIR), sealed
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinics.id"))
    # The system's clinic id → textdesk clinic id (Open Dental ClinicNum → clinics.id).
    clinic_map: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    sync_due_at: Mapped[datetime]  # the next sync may start at or after this
    last_sync_at: Mapped[datetime | None]  # the last sync that finished without error
    last_attempt_at: Mapped[datetime | None]
    last_error_kind: Mapped[str | None] = mapped_column(String(30))
    last_error: Mapped[str | None] = mapped_column(Text)  # never a key, phone or body
    last_counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SyncCursor(Base):
    """Where the last incremental read of one table stopped: the system's own clock."""

    __tablename__ = "sync_cursors"
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    system: Mapped[str] = mapped_column(String(30), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(30), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class ExternalRecord(Base):
    """textdesk's row for the system's id: upserts are keyed by (practice, system, kind, id)."""

    __tablename__ = "external_records"
    __table_args__ = (
        UniqueConstraint("practice_id", "system", "kind", "external_id"),
        Index("ix_external_records_local", "practice_id", "system", "kind", "local_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    system: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))  # patient | appointment
    external_id: Mapped[str] = mapped_column(String(64))
    local_id: Mapped[int]
    fingerprint: Mapped[str] = mapped_column(String(64))  # what was last applied, to skip repeats
    text_ok: Mapped[str | None] = mapped_column(String(40))  # last Text OK seen, with its phone
    updated_at: Mapped[datetime]


class WriteBackItem(Base):
    """The outbox: one change for the practice system, written with the event that caused it."""

    __tablename__ = "write_back_items"
    __table_args__ = (
        UniqueConstraint("practice_id", "system", "source_key"),
        Index("ix_write_back_due", "practice_id", "status", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    system: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))  # commlog | confirmation | text_ok
    source_key: Mapped[str] = mapped_column(String(120))  # the event, so it is queued once
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    external_id: Mapped[str | None] = mapped_column(String(64))  # the id the system returned
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
