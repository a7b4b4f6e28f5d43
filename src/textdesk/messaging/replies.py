"""What textdesk does, in the same transaction, when a new inbound text arrives.

Each reaction is a function (session, message, now); they run in order. Keyword handling
(STOP / START / HELP), confirmations and lead redirects add themselves here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.automation import confirmations
from textdesk.consent import replies as consent_replies, status as consent_status
from textdesk.leads import automation as lead_automation
from textdesk.storage.models import Message

Reaction = Callable[[Session, Message, datetime], None]

# Consent keywords come first: a STOP is recorded before anything else looks at the text.
REACTIONS: list[Reaction] = [
    consent_replies.react_to_consent_keywords,
    # A lead's reply: activity, engages an active lead; a closed lead thread redirects (D3).
    lead_automation.react_to_lead_reply,
    # C, Y, YES, CONFIRM confirm the latest open confirmation request (G3), never after STOP.
    confirmations.react_to_reply,
]

# A blocked sender's text is dropped unseen: only these run for it (F6).
BLOCKED_SENDER_REACTIONS: list[Reaction] = [consent_replies.honour_stop_from_blocked_sender]

# Run after all reactions, whatever was appended to REACTIONS: an opt-out has the last word.
FINAL_CHECKS: list[Reaction] = [consent_replies.cancel_answers_after_opt_out]


def react(session: Session, message: Message, now: datetime) -> None:
    blocked = consent_status.is_blocked(session, message.practice_id, message.from_e164)
    for reaction in BLOCKED_SENDER_REACTIONS if blocked else REACTIONS:
        reaction(session, message, now)
    for check in FINAL_CHECKS:
        check(session, message, now)
