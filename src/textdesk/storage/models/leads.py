"""Tables of leads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.domain.leads import OPEN_STAGES
from textdesk.storage.models.core import Base

_OPEN_VALUES = sorted(s.value for s in OPEN_STAGES)
# At most one open lead per phone in a practice: the database enforces the merge rule (D4).
_IS_OPEN = text("stage IN (" + ", ".join(f"'{v}'" for v in _OPEN_VALUES) + ")")


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_practice_stage", "practice_id", "stage", "last_activity_at"),
        Index("ix_leads_practice_phone", "practice_id", "phone_e164"),
        Index("uq_leads_open_phone", "practice_id", "phone_e164", unique=True,
              postgresql_where=_IS_OPEN, sqlite_where=_IS_OPEN),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone_raw: Mapped[str] = mapped_column(String(40))
    phone_e164: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20))
    inquiry_count: Mapped[int] = mapped_column(Integer, default=1)  # 1 + inquiries merged in
    last_activity_at: Mapped[datetime]
    last_redirect_at: Mapped[datetime | None]  # the last automated "contact the clinic" text
    stage_changed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LeadStageChange(Base):
    """Every stage a lead went through: who (staff or automation), when and why."""

    __tablename__ = "lead_stage_changes"
    __table_args__ = (Index("ix_lead_stage_changes_lead", "lead_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"))
    from_stage: Mapped[str | None] = mapped_column(String(20))  # None when the lead came in
    to_stage: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(20))  # staff | automation
    actor: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
