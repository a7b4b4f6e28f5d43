"""What textdesk does, in the same transaction, when a new inbound text arrives.

Each reaction is a function (session, message, now); they run in order. Keyword handling
(STOP / START / HELP), confirmations and lead redirects add themselves here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.storage.models import Message

Reaction = Callable[[Session, Message, datetime], None]

REACTIONS: list[Reaction] = []


def react(session: Session, message: Message, now: datetime) -> None:
    for reaction in REACTIONS:
        reaction(session, message, now)
