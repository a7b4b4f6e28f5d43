"""Batch lookups to judge many texts at once (the connector's second look at a claimed batch).

One query per fact for the whole batch, instead of one per text: consent by phone, what
carriers taught about each phone, and each lead's stage.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.domain.consent import ConsentState, ConsentStatus
from textdesk.storage.models import ConsentCurrent, Lead, Patient


def consent_by_phone(session: Session, practice_id: int,
                     phones: Collection[str]) -> dict[str, ConsentStatus]:
    """Current consent of each phone that has any on record (absent: no consent)."""
    if not phones:
        return {}
    rows = session.scalars(select(ConsentCurrent).where(
        ConsentCurrent.practice_id == practice_id, ConsentCurrent.phone_e164.in_(set(phones))))
    return {row.phone_e164: ConsentStatus(ConsentState(row.state), row.marketing,
                                          row.last_change_at, row.last_source)
            for row in rows if row.state != ConsentState.NONE}


def findings_by_phone(session: Session, practice_id: int,
                      phones: Collection[str]) -> dict[str, str]:
    """What a carrier taught about each phone, from the patients who have it."""
    if not phones:
        return {}
    rows = session.execute(select(Patient.phone_e164, Patient.phone_finding).where(
        Patient.practice_id == practice_id, Patient.phone_e164.in_(set(phones)),
        Patient.phone_finding.is_not(None)).order_by(Patient.id))
    found: dict[str, str] = {}
    for phone, finding in rows:
        if phone and finding:
            found.setdefault(phone, finding)
    return found


def lead_stages(session: Session, practice_id: int, lead_ids: Collection[int]) -> dict[int, str]:
    if not lead_ids:
        return {}
    rows = session.execute(select(Lead.id, Lead.stage).where(
        Lead.practice_id == practice_id, Lead.id.in_(set(lead_ids))))
    return {lead_id: str(stage) for lead_id, stage in rows}
