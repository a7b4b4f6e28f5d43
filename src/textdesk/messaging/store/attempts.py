"""Refused send attempts: every text the rules turned away, with its blocker codes, for reports.

Only codes and ids are kept, never the body or the phone: a report counts why texts could not
go out, it does not keep what they said.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.storage.models.attempts import RefusedSend


def record_refusal(session: Session, *, practice_id: int, clinic_id: int | None,
                   patient_id: int | None, lead_id: int | None, kind: str, codes: list[str],
                   actor: str | None, at: datetime) -> RefusedSend:
    row = RefusedSend(practice_id=practice_id, clinic_id=clinic_id, patient_id=patient_id,
                      lead_id=lead_id, kind=kind, codes=list(codes), actor=actor, at=at)
    session.add(row)
    session.flush()
    return row


def refusals_since(session: Session, practice_id: int, since: datetime,
                   limit: int = 10_000) -> list[RefusedSend]:
    return list(session.scalars(
        select(RefusedSend)
        .where(RefusedSend.practice_id == practice_id, RefusedSend.at >= since)
        .order_by(RefusedSend.id.desc()).limit(limit)))


def refusal_counts(session: Session, practice_id: int, since: datetime) -> dict[str, int]:
    """How often each blocker code turned a text away since `since` (a text may count twice)."""
    counts: Counter[str] = Counter()
    for row in refusals_since(session, practice_id, since):
        counts.update(row.codes)
    return dict(counts.most_common())
