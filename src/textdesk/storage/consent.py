"""Consent queries: the append-only history and its current state per (practice, phone)."""

from __future__ import annotations

from datetime import datetime

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
from textdesk.storage.db import insert_once
from textdesk.storage.models import ConsentCurrent, ConsentEvent, Message


class AppendOnlyError(Exception):
    """Consent history cannot be changed or removed."""


def append_event(session: Session, event: ConsentEvent) -> ConsentStatus:
    """Insert one event and move the current state with it, in the caller's transaction.

    The phone's current-state row is locked first, so concurrent events on one phone (a STOP
    and a carrier's 21610 at once) are applied one after the other, never lost.
    """
    if event.id is not None:
        raise AppendOnlyError("consent events are inserted once, never rewritten")
    current = _locked_current(session, event.practice_id, event.phone_e164, event.at)
    after = apply(_status(current), ConsentEventView(
        ConsentAction(event.action), ConsentScope(event.scope), event.source, event.at))
    session.add(event)
    current.state = after.state.value
    current.marketing = after.marketing
    current.last_source = after.last_source
    current.last_change_at = after.last_change_at
    session.flush()
    return after


def _locked_current(session: Session, practice_id: int, e164: str,
                    at: datetime) -> ConsentCurrent:
    """The phone's current-state row, locked; created (state `none`) if it did not exist."""
    key = (practice_id, e164)
    current = session.get(ConsentCurrent, key, with_for_update=True, populate_existing=True)
    if current is not None:
        return current
    current = ConsentCurrent(practice_id=practice_id, phone_e164=e164,
                             state=ConsentState.NONE.value, marketing=False,
                             last_source=None, last_change_at=at)
    if insert_once(session, current):
        return current
    # Another transaction created it first: wait for its lock.
    current = session.get(ConsentCurrent, key, with_for_update=True, populate_existing=True)
    assert current is not None
    return current


def current_status(session: Session, practice_id: int, e164: str | None) -> ConsentStatus:
    if not e164:
        return NO_CONSENT
    return _status(session.get(ConsentCurrent, (practice_id, e164)))


def _status(row: ConsentCurrent | None) -> ConsentStatus:
    if row is None or row.state == ConsentState.NONE:
        return NO_CONSENT
    return ConsentStatus(ConsentState(row.state), row.marketing, row.last_change_at,
                         row.last_source)


def history(session: Session, practice_id: int, e164: str) -> list[ConsentEvent]:
    return list(session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.practice_id == practice_id, ConsentEvent.phone_e164 == e164)
        .order_by(ConsentEvent.id)))


def latest_answer_at(session: Session, practice_id: int, conversation_id: int,
                     actor: str) -> datetime | None:
    """When an automated answer of this kind last went to the conversation (G5 pacing)."""
    return session.scalar(
        select(Message.created_at)
        .where(Message.practice_id == practice_id, Message.conversation_id == conversation_id,
               Message.direction == "outbound", Message.kind == "system",
               Message.created_by == actor)
        .order_by(Message.id.desc()).limit(1))


def phones_opted_out(session: Session, practice_id: int, phones: list[str]) -> set[str]:
    """Which of these phones are opted out of all texts right now."""
    if not phones:
        return set()
    return set(session.scalars(
        select(ConsentCurrent.phone_e164)
        .where(ConsentCurrent.practice_id == practice_id, ConsentCurrent.phone_e164.in_(phones),
               ConsentCurrent.state == ConsentState.OPTED_OUT.value)))


@sa_event.listens_for(Session, "before_flush")
def _refuse_consent_rewrites(session: Session, _ctx: object, _instances: object) -> None:
    """Any update or delete of a consent event made through the ORM fails at flush."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ConsentEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("consent history is append-only")
