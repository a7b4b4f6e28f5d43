"""What every automated text shares: the practice's send window and the recipient's local time
(G1), link keys and link URLs, and queueing a text to leave at the next allowed instant."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from sqlalchemy.orm import Session

from textdesk.automation import store as store

# Reads other features make here; the store stays private to this package.
from textdesk.automation.store import (
    add as add,
    add_all as add_all,
    link_key as link_key,
)
from textdesk.domain import links
from textdesk.domain.errors import Invalid
from textdesk.domain.expiry import reminder_expiry
from textdesk.domain.messages import MessageKind
from textdesk.domain.phone import parse_phone, time_zones
from textdesk.domain.schedule import (
    EmptyWindow,
    Window,
    next_allowed,
    practice_window,
    recipient_zones,
)
from textdesk.messaging.recipients import Recipient
from textdesk.messaging.service import Queued, send_text
from textdesk.storage.db import public_url_of
from textdesk.storage.models import Practice

AUTOMATION_ACTOR = "automation"


def send_window(practice: Practice, excluded_weekdays: Iterable[int] = ()) -> Window:
    """The practice's hours inside 08:00–21:00; an empty window is a clear error."""
    try:
        return practice_window(practice.quiet_start, practice.quiet_end, excluded_weekdays)
    except (EmptyWindow, ValueError) as error:
        raise Invalid("send_window_empty", f"The practice's send window is empty: {error}",
                      quiet_hours={"start": practice.quiet_start, "end": practice.quiet_end}
                      ) from error


@lru_cache(maxsize=4096)
def _number_zones(e164: str) -> tuple[str, ...]:
    return time_zones(e164)


def zones_for(practice: Practice, e164: str | None) -> tuple[str, ...]:
    """The recipient's time zones from the area code (the practice's zone when unknown)."""
    return recipient_zones(_number_zones(e164) if e164 else (), practice.timezone)


def first_allowed(practice: Practice, e164: str | None, at: datetime,
                  excluded_weekdays: Iterable[int] = ()) -> datetime:
    return next_allowed(at, zones_for(practice, e164),
                        send_window(practice, excluded_weekdays))


def queue_automated(session: Session, recipient: Recipient, practice: Practice, body: str, *,
                    now: datetime, due: datetime | None = None,
                    kind: MessageKind = MessageKind.AUTOMATED,
                    excluded_weekdays: Iterable[int] = (),
                    appointment_start: datetime | None = None) -> Queued:
    """Judge and queue an automated text to leave at the first allowed instant after `due`.

    Raises SendBlocked with every blocker, like any send. A text whose time falls outside the
    window waits `pending` with the hold `quiet_hours` and leaves when the window opens.
    A text about an appointment is valid until shortly before it begins (`reminder_expiry`).
    """
    wanted = max(now, due or now)
    e164 = parse_phone(recipient.phone_raw, practice.default_country).e164
    leaves = first_allowed(practice, e164, wanted, excluded_weekdays)
    queued = send_text(session, recipient, body, now=now, kind=kind, actor=AUTOMATION_ACTOR,
                       not_before=leaves,
                       expires_at=reminder_expiry(appointment_start, leaves)
                       if appointment_start is not None else None)
    if leaves > wanted:
        queued.message.wait_reason = "quiet_hours"
    return queued


# --- links -------------------------------------------------------------------------------------

def link_base(session: Session, practice: Practice) -> str:
    """Links live on the practice's link domain; textdesk's public URL until one is set."""
    return practice.link_domain or public_url_of(session)


def make_link(session: Session, practice: Practice, kind: links.LinkKind, subject_id: int,
              valid_until: datetime, now: datetime) -> str:
    claim = links.LinkClaim(kind, practice.id, subject_id, links.last_day_for(valid_until))
    token = links.sign(store.link_key(session, practice.id, now), claim)
    return links.url(link_base(session, practice), kind, token)


def open_link(session: Session, token: str, kind: links.LinkKind, now: datetime
              ) -> links.LinkClaim:
    """The verified claim of a link of this kind; LinkError when forged, expired or wrong."""
    claim = links.read(token)
    if claim.kind is not kind:
        raise links.LinkError("link_invalid", "This link is not valid.")
    key = store.find_link_key(session, claim.practice_id)
    if key is None:  # no link was ever made for that practice
        raise links.LinkError("link_invalid", "This link is not valid.")
    return links.verify(key, token, now)
