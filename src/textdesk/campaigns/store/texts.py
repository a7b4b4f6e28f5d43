"""A campaign's texts in bulk: the queued recipients to write texts for, their conversations,
the texts the service computed (multi-row inserts; COPY on PostgreSQL) and their first history
entry; re-planning, pausing, cancelling and counting them.

Nothing here computes a rule: bodies, links, segments, costs, slots and holds arrive computed
by the domain's own functions; the store only moves rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textdesk.storage.db import cast_table, is_postgres_session
from textdesk.storage.models import CampaignRecipient, Conversation, Message, MessageEvent, Patient

PAUSED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
_MESSAGES = cast_table(Message)
_CONVERSATIONS = cast_table(Conversation)
_EVENTS = cast_table(MessageEvent)


@dataclass(frozen=True)
class QueuedMember:
    """A queued recipient, with the conversation its text goes into."""

    patient_id: int
    clinic_id: int
    first_name: str
    phone_e164: str
    conversation_id: int


@dataclass(frozen=True)
class Waiting:
    """A campaign text still waiting to leave."""

    id: int
    to_e164: str
    segments: int


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def ensure_conversations(session: Session, campaign_id: int, practice_id: int,
                         now: datetime) -> None:
    """A conversation for each queued phone that has none (replies land in it)."""
    queued = (select(Patient.phone_e164, func.min(Patient.id).label("pid"))
              .join(CampaignRecipient, CampaignRecipient.patient_id == Patient.id)
              .where(CampaignRecipient.campaign_id == campaign_id,
                     CampaignRecipient.status == "queued")
              .group_by(Patient.phone_e164).subquery())
    values = _with_defaults(_CONVERSATIONS, {
        "practice_id": literal(practice_id), "phone_e164": queued.c.phone_e164,
        "patient_id": queued.c.pid, "last_message_at": literal(_naive(now), DateTime())},
        wrap=True)
    source = select(*[v.label(k) for k, v in values.items()]).where(~exists().where(
        Conversation.practice_id == practice_id,
        Conversation.phone_e164 == queued.c.phone_e164))
    dialect_insert = postgresql.insert if is_postgres_session(session) else sqlite.insert
    session.execute(dialect_insert(_CONVERSATIONS).from_select(list(values), source)
                    .on_conflict_do_nothing())


def queued_members(session: Session, campaign_id: int, practice_id: int) -> list[QueuedMember]:
    """The campaign's queued recipients in patient order (the order their texts queue in)."""
    rows = session.execute(
        select(Patient.id, Patient.clinic_id, Patient.first_name, Patient.phone_e164,
               Conversation.id)
        .join(CampaignRecipient, CampaignRecipient.patient_id == Patient.id)
        .join(Conversation, and_(Conversation.practice_id == practice_id,
                                 Conversation.phone_e164 == Patient.phone_e164))
        .where(CampaignRecipient.campaign_id == campaign_id,
               CampaignRecipient.status == "queued")
        .order_by(Patient.id))
    return [QueuedMember(pid, clinic, name, phone or "", conversation)
            for pid, clinic, name, phone, conversation in rows]


def _with_defaults(table: Table, given: dict[str, Any], wrap: bool = False) -> dict[str, Any]:
    """The given columns plus every other column's scalar default (what the ORM would add)."""
    values = dict(given)
    for column in table.columns:
        default = column.default
        if column.name not in values and default is not None and default.is_scalar:
            arg = default.arg  # type: ignore[attr-defined]
            values[column.name] = literal(arg, column.type) if wrap else arg
    return values


def insert_texts(session: Session, fixed: dict[str, Any], rows: Sequence[dict[str, Any]]
                 ) -> int:
    """Write computed texts: `fixed` the columns all share, each row (all with the same keys)
    the rest; returns how many. Values go through each column's own bind processing (the
    same as the ORM's), then to the driver in one executemany, or one COPY on PostgreSQL."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    varying = list(rows[0])
    shared = _with_defaults(_MESSAGES, {k: v for k, v in fixed.items() if k not in varying})
    shared = {k: v for k, v in shared.items() if k not in varying}
    processors = [(c, _MESSAGES.c[c].type.bind_processor(dialect)) for c in varying]
    constant = [_bound(dialect, c, v) for c, v in shared.items()]
    tuples = [[*constant, *[p(row[c]) if p else row[c] for c, p in processors]]
              for row in rows]
    columns = [*shared, *varying]
    raw: Any = session.connection().connection.dbapi_connection
    names = ", ".join(columns)
    if is_postgres_session(session):
        with raw.cursor() as cursor, cursor.copy(
                f"COPY {_MESSAGES.name} ({names}) FROM STDIN") as copy:
            for values in tuples:
                copy.write_row(values)
    else:
        marks = ", ".join("?" for _ in columns)
        raw.cursor().executemany(f"INSERT INTO {_MESSAGES.name} ({names}) VALUES ({marks})",
                                 tuples)
    return len(tuples)


def _bound(dialect: Any, column: str, value: Any) -> Any:
    processor = _MESSAGES.c[column].type.bind_processor(dialect)
    return processor(value) if processor else value


def write_history(session: Session, campaign_id: int, now: datetime) -> None:
    """Each new text's first history entry, `pending`, as queue_message writes it."""
    values = {"message_id": Message.id, "status": literal("pending"), "source": literal("api"),
              "at": literal(_naive(now), DateTime())}
    query: Any = select(*[v.label(k) for k, v in values.items()]).where(
        Message.campaign_id == campaign_id)
    session.execute(insert(_EVENTS).from_select(list(values), query))


# --- pause, resume, cancel, count -----------------------------------------------------------

def hold_all(session: Session, campaign_id: int, now: datetime) -> int:
    result = session.execute(
        update(Message).where(Message.campaign_id == campaign_id, Message.status == "pending")
        # A paused text has no day until the campaign resumes (`set_plan` gives it one).
        .values(next_attempt_at=PAUSED_UNTIL, wait_reason="campaign_paused", expires_at=None,
                updated_at=now)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def waiting_of_numbers(session: Session, campaign_id: int) -> dict[int, list[Waiting]]:
    """The campaign's waiting texts per sending number, in queue order."""
    rows = session.execute(
        select(Message.number_id, Message.id, Message.to_e164, Message.segments)
        .where(Message.campaign_id == campaign_id, Message.status == "pending")
        .order_by(Message.id))
    waiting: dict[int, list[Waiting]] = {}
    for number_id, mid, to, segments in rows:
        if number_id is not None:
            waiting.setdefault(number_id, []).append(Waiting(mid, to, segments))
    return waiting


def set_plan(session: Session, plan: Iterable[tuple[int, datetime, str | None, datetime]],
             now: datetime) -> None:
    """Give waiting texts their planned instant, hold and validity."""
    params = [{"mid": mid, "at": at, "why": why, "until": until}
              for mid, at, why, until in plan]
    if not params:
        return
    stmt = (update(_MESSAGES)
            .where(_MESSAGES.c.id == bindparam("mid"), _MESSAGES.c.status == "pending")
            .values(next_attempt_at=bindparam("at"), wait_reason=bindparam("why"),
                    expires_at=bindparam("until"), updated_at=now))
    session.execute(stmt, params)


def waiting_texts(session: Session, campaign_id: int) -> list[Message]:
    return list(session.scalars(select(Message).where(
        Message.campaign_id == campaign_id, Message.status == "pending").with_for_update()))


def status_counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(select(Message.status, func.count()).where(
        Message.campaign_id == campaign_id).group_by(Message.status))
    return {status: int(n) for status, n in rows}


def waiting_phones(session: Session, campaign_id: int) -> list[str]:
    """The phones the campaign's waiting texts go to."""
    return list(session.scalars(select(Message.to_e164).where(
        Message.campaign_id == campaign_id, Message.status == "pending").distinct()))


def cancel_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """The campaign's canceled texts per cancel reason."""
    rows = session.execute(select(Message.cancel_reason, func.count()).where(
        Message.campaign_id == campaign_id, Message.status == "canceled")
        .group_by(Message.cancel_reason))
    return {reason or "canceled": int(n) for reason, n in rows}


def has_waiting(session: Session, campaign_id: int) -> bool:
    return bool(session.scalar(select(exists().where(
        Message.campaign_id == campaign_id, Message.status.in_(("pending", "sending"))))))
