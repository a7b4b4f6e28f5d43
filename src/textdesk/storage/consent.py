"""Consent queries: the append-only history and its current state per (practice, phone)."""

from __future__ import annotations

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.domain.consent import (
    NO_CONSENT,
    ConsentAction,
    ConsentEventView,
    ConsentScope,
    ConsentState,
    ConsentStatus,
    apply,
)
from textdesk.storage.models import ConsentCurrent, ConsentEvent


class AppendOnlyError(Exception):
    """Consent history cannot be changed or removed."""


def append_event(session: Session, event: ConsentEvent) -> ConsentStatus:
    """Insert one event and move the current state with it, in the caller's transaction."""
    if event.id is not None:
        raise AppendOnlyError("consent events are inserted once, never rewritten")
    session.add(event)
    current = session.get(ConsentCurrent, (event.practice_id, event.phone_e164),
                          with_for_update=True)
    before = _status(current)
    after = apply(before, ConsentEventView(ConsentAction(event.action), ConsentScope(event.scope),
                                           event.source, event.at))
    if current is None:
        current = ConsentCurrent(practice_id=event.practice_id, phone_e164=event.phone_e164)
        session.add(current)
    current.state = after.state.value
    current.marketing = after.marketing
    current.last_source = after.last_source
    current.last_change_at = after.last_change_at
    session.flush()
    return after


def current_status(session: Session, practice_id: int, e164: str | None) -> ConsentStatus:
    if not e164:
        return NO_CONSENT
    return _status(session.get(ConsentCurrent, (practice_id, e164)))


def _status(row: ConsentCurrent | None) -> ConsentStatus:
    if row is None:
        return NO_CONSENT
    return ConsentStatus(ConsentState(row.state), row.marketing, row.last_change_at,
                         row.last_source)


def history(session: Session, practice_id: int, e164: str) -> list[ConsentEvent]:
    return list(session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.practice_id == practice_id, ConsentEvent.phone_e164 == e164)
        .order_by(ConsentEvent.id)))


@sa_event.listens_for(Session, "before_flush")
def _refuse_consent_rewrites(session: Session, _ctx: object, _instances: object) -> None:
    """Any update or delete of a consent event made through the ORM fails at flush."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ConsentEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("consent history is append-only")
