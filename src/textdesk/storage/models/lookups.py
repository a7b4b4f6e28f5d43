"""Tables of carrier line-type lookups."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class PhoneLookup(Base):
    """One practice's question about one phone: pending until the scheduler asks the carrier."""

    __tablename__ = "phone_lookups"
    __table_args__ = (UniqueConstraint("practice_id", "phone_e164"),
                      Index("ix_phone_lookups_status", "status", "requested_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    phone_e164: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12))  # pending | asking | done | failed
    line_type: Mapped[str | None] = mapped_column(String(20))
    carrier_name: Mapped[str | None] = mapped_column(String(120))
    requested_at: Mapped[datetime]
    looked_up_at: Mapped[datetime | None]
