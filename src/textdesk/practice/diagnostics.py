"""Explaining: why a patient can or cannot be texted (H1), why a text waits, failed or was
canceled (H2). Every answer comes from the one rule engine or the failure-cause table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.eligibility import Verdict
from textdesk.domain.messages import Status
from textdesk.domain.reasons import CATALOGUE, Reason, reason
from textdesk.messaging import service as messaging
from textdesk.messaging.recipients import judge, patient_recipient, recheck
from textdesk.messaging.service import failure_of
from textdesk.storage.models import Message

# Cancellations that are not a rule's verdict but someone's act.
_CANCELED_BY = {
    "staff_canceled": Reason("staff_canceled", "Staff canceled the text before it left.",
                             "Send it again if it is still needed."),
}


def can_text_patient(session: Session, practice_id: int, patient_id: int,
                     now: datetime, body: str | None = None) -> Verdict:
    return judge(session, patient_recipient(session, practice_id, patient_id), now=now,
                 body=body).verdict


def pending_verdict(session: Session, message: Message, now: datetime) -> Verdict | None:
    """The rules' verdict on a waiting text as it stands now; None once it has left."""
    if message.status != Status.PENDING or message.direction != "outbound":
        return None
    ((_, verdict),) = recheck(session, [message], now, connector_alive=None)
    return verdict


def holds_of_waiting(session: Session, messages: list[Message],
                     now: datetime) -> dict[int, list[Reason]]:
    """What keeps each of these texts waiting, judged in one batch (a page of inbox rows)."""
    waiting = [m for m in messages
               if m.status == Status.PENDING and m.direction == "outbound"]
    if not waiting:
        return {}
    return {m.id: message_holds(session, m, now, verdict)
            for m, verdict in recheck(session, waiting, now, connector_alive=None)}


def message_holds(session: Session, message: Message, now: datetime,
                  verdict: Verdict | None = None) -> list[Reason]:
    """What keeps a pending text waiting, right now."""
    verdict = verdict or pending_verdict(session, message, now)
    if verdict is None:
        return []
    holds = list(verdict.holds)
    if message.next_attempt_at > now and message.wait_reason in CATALOGUE:
        spec = CATALOGUE[message.wait_reason]
        # A paused campaign parks its texts at the end of time: there is no next try to name.
        when = ("" if message.next_attempt_at.year >= 9000 else
                f" Next try at {message.next_attempt_at:%Y-%m-%d %H:%M} UTC.")
        holds.append(reason(message.wait_reason, spec.message + when))
    return holds


def cancellation_of(message: Message) -> dict[str, str] | None:
    """Why a canceled text never left: the blocker that stopped it, or who canceled it."""
    code = message.cancel_reason
    if message.status != Status.CANCELED or not code:
        return None
    if code in CATALOGUE:
        return reason(code).as_dict()
    known = _CANCELED_BY.get(code)
    return known.as_dict() if known else {"code": code, "message": "The text was canceled.",
                                          "fix": "Send it again if it is still needed."}


def explain_message(session: Session, message: Message, now: datetime) -> dict[str, Any]:
    """Holds (and blockers that will cancel it) while pending; cause and fix once failed."""
    verdict = pending_verdict(session, message, now)
    return {
        "holds": [r.as_dict() for r in message_holds(session, message, now, verdict)],
        "blockers": [r.as_dict() for r in verdict.blockers] if verdict else [],
        "history": messaging.history(session, message.id),
        "failure": failure_of(message),
        "cancellation": cancellation_of(message),
    }
