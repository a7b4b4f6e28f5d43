"""Explaining: why a patient can or cannot be texted (H1), why a text waits or failed (H2)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.eligibility import Verdict
from textdesk.domain.messages import Status
from textdesk.domain.reasons import Reason, reason
from textdesk.services.messaging import failure_of
from textdesk.services.recipients import is_connector_alive, patient_recipient, judge
from textdesk.storage import messages as message_store
from textdesk.storage import practices as practice_store
from textdesk.storage.models import Message


def can_text_patient(session: Session, practice_id: int, patient_id: int,
                     now: datetime, body: str | None = None) -> Verdict:
    return judge(session, patient_recipient(session, practice_id, patient_id), now=now,
                 body=body).verdict


def message_holds(session: Session, message: Message, now: datetime) -> list[Reason]:
    """What keeps a pending text waiting, right now."""
    if message.status != Status.PENDING:
        return []
    holds: list[Reason] = []
    number = practice_store.get_number(session, message.number_id) if message.number_id else None
    if number is not None and number.status == "pending_verification":
        holds.append(reason("number_pending_verification"))
    if not is_connector_alive(session, now):
        holds.append(reason("connector_down"))
    if message.next_attempt_at > now and message.wait_reason:
        holds.append(reason(message.wait_reason,
                            _waiting_until(message.wait_reason, message.next_attempt_at)))
    return holds


def _waiting_until(code: str, at: datetime) -> str:
    from textdesk.domain.reasons import CATALOGUE

    return f"{CATALOGUE[code].message} Next try at {at:%Y-%m-%d %H:%M} UTC."


def explain_message(session: Session, message: Message, now: datetime) -> dict[str, Any]:
    return {
        "holds": [r.as_dict() for r in message_holds(session, message, now)],
        "history": message_store.history(session, message.id),
        "failure": failure_of(message),
    }
