"""Idempotency keys: the first answer to a creating request, kept 24 hours per practice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class IdempotencyKey(Base):
    """One `Idempotency-Key` of a practice; `status_code` is null while its request runs."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("practice_id", "key", name="uq_idempotency_keys_key"),
                      Index("ix_idempotency_keys_expiry", "practice_id", "expires_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    status_code: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
