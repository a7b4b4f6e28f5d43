"""Consent queries: the append-only history and its current state per (practice, phone)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, event as sa_event, select, update
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
from textdesk.storage.db import cast_table, insert_many, insert_once, insert_rows
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


@dataclass(frozen=True)
class NewEvent:
    """One consent event of a batch (the columns of `consent_events` but the practice)."""

    phone_e164: str
    action: ConsentAction
    scope: ConsentScope
    source: str
    at: datetime
    actor: str | None = None
    note: str | None = None
    patient_id: int | None = None


def append_many(session: Session, practice_id: int, events: list[NewEvent],
                admit: Callable[[ConsentStatus, NewEvent], bool]
                ) -> list[tuple[int, NewEvent]]:
    """Many events at once, in order, each written only if `admit` says so given the state its
    phone is in by then; (event id, event) of those written. The phones' current-state rows
    are created if missing and locked first, as `append_event` does for one."""
    phones = sorted({e.phone_e164 for e in events})
    if not phones:
        return []
    insert_many(session, cast_table(ConsentCurrent), [
        {"practice_id": practice_id, "phone_e164": phone, "state": ConsentState.NONE.value,
         "marketing": False, "last_source": None, "last_change_at": events[0].at}
        for phone in phones], skip_duplicates=True)
    statuses: dict[str, ConsentStatus] = {}
    current = cast_table(ConsentCurrent)
    for start in range(0, len(phones), 500):
        for phone, state, marketing, at, source in session.execute(
                select(current.c.phone_e164, current.c.state, current.c.marketing,
                       current.c.last_change_at, current.c.last_source)
                .where(current.c.practice_id == practice_id,
                       current.c.phone_e164.in_(phones[start:start + 500]))
                .with_for_update()):
            statuses[phone] = (NO_CONSENT if state == ConsentState.NONE else ConsentStatus(
                ConsentState(state), marketing, at, source))
    written: list[NewEvent] = []
    for event in events:
        before = statuses[event.phone_e164]
        if admit(before, event):
            statuses[event.phone_e164] = apply(before, ConsentEventView(
                event.action, event.scope, event.source, event.at))
            written.append(event)
    ids = insert_rows(session, cast_table(ConsentEvent), [
        {"practice_id": practice_id, "phone_e164": e.phone_e164, "patient_id": e.patient_id,
         "action": e.action.value, "scope": e.scope.value, "source": e.source,
         "actor": e.actor, "note": e.note, "at": e.at} for e in written])
    changed = [(phone, statuses[phone]) for phone in sorted({e.phone_e164 for e in written})]
    if changed:
        session.execute(update(current).where(
            current.c.practice_id == practice_id, current.c.phone_e164 == bindparam("phone"))
            .values(state=bindparam("st"), marketing=bindparam("mk"),
                    last_source=bindparam("src"), last_change_at=bindparam("at")),
            [{"phone": phone, "st": after.state.value, "mk": after.marketing,
              "src": after.last_source, "at": after.last_change_at} for phone, after in changed])
    return list(zip(ids, written, strict=True))


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
