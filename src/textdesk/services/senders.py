"""Who textdesk listens to: blocked senders (F6) and lines that take no replies (G5)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.errors import Invalid, NotFound
from textdesk.domain.phone import parse_phone
from textdesk.storage import flags as flag_store
from textdesk.storage import messages as message_store
from textdesk.storage import practices as practice_store
from textdesk.storage.models import Conversation, Practice, SendingNumber

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
    conversation = message_store.conversation_for(session, practice.id,
                                                   sender_key(practice, phone), now)
    conversation.is_blocked = blocked
    if blocked:
        conversation.unread_count = 0
    return conversation


def blocked_senders(session: Session, practice: Practice) -> list[Conversation]:
    return flag_store.blocked_conversations(session, practice.id)


def update_number(session: Session, practice: Practice, number_id: int,
                  changes: Any) -> SendingNumber:
    """What staff may change on a sending number themselves: whether it takes replies."""
    number = practice_store.get_number(session, number_id)
    if number is None or number.practice_id != practice.id:
        raise NotFound("number_not_found", "No such sending number.")
    if not isinstance(changes, dict):
        raise Invalid("invalid_request", "Send a JSON object.")
    unknown = set(changes) - {"takes_replies"}
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    if "takes_replies" in changes:
        if not isinstance(changes["takes_replies"], bool):
            raise Invalid("invalid_takes_replies", "takes_replies must be true or false.")
        number.takes_replies = changes["takes_replies"]
    return number
