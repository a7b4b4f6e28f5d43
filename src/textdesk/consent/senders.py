"""Who textdesk listens to: blocked senders (F6) and lines that take no replies (G5)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.consent.store import flags as flag_store
from textdesk.domain.errors import Invalid
from textdesk.domain.phone import parse_phone
from textdesk.messaging import service as messaging
from textdesk.storage.models import Conversation, Practice

# Short codes and other numbers a phone library will not read still text in; they are kept
# as sent, so they must be blockable as written.
_RAW_SENDER = re.compile(r"^\+?\d{3,15}$")


def sender_key(practice: Practice, phone: Any) -> str:
    """The phone as inbound texts store it (services.inbound): E.164 when it can be read,
    else the digits as sent."""
    if not isinstance(phone, str) or not phone.strip():
        raise Invalid("invalid_phone", "Give the sender's phone number.")
    parsed = parse_phone(phone, practice.default_country)
    if parsed.e164:
        return parsed.e164
    raw = phone.strip()
    if _RAW_SENDER.match(raw):
        return raw
    raise Invalid("invalid_phone", "The phone number cannot be read.")


def set_blocked(session: Session, practice: Practice, phone: Any, blocked: bool,
                now: datetime) -> Conversation:
    """Block (or unblock) a sender: from now on its texts are stored but dropped unseen."""
    conversation = messaging.conversation_for(session, practice.id,
                                                   sender_key(practice, phone), now)
    conversation.is_blocked = blocked
    if blocked:
        conversation.unread_count = 0
    return conversation


def blocked_senders(session: Session, practice: Practice) -> list[Conversation]:
    return flag_store.blocked_conversations(session, practice.id)


