"""A campaign's texts in bulk: write them (conversations, bodies with signed recall links,
segments, planned slots, history) in a few INSERT … SELECT statements; pause, resume and
cancel them; count them by status.

The database computes what differs per recipient: the first name and the recall link are
placeholders the database replaces, the link's HMAC is computed by the database (PostgreSQL's
sha256, or a function registered on the SQLite connection), and each text's planned slot is
its rank among its number's texts times the number's interval, laid over the send windows.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textdesk.domain.campaigns import Stretch
from textdesk.domain.links import SIGNATURE_HEX, hmac_pads
from textdesk.storage.automation import cast_table
from textdesk.storage.campaigns import CampaignRecipient
from textdesk.storage.models import Conversation, Message, MessageEvent, Patient

FIRST_NAME_MARK = "\ue000"  # placeholders the database replaces (templates refuse these)
RECALL_LINK_MARK = "\ue001"
PAUSED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
_MESSAGES = cast_table(Message)
_CONVERSATIONS = cast_table(Conversation)
_EVENTS = cast_table(MessageEvent)


@dataclass(frozen=True)
class TextPlan:
    """Everything the database needs to write one clinic's texts of a campaign."""

    campaign_id: int
    practice_id: int
    clinic_id: int
    number_id: int
    from_e164: str
    body: str  # constants filled in, FIRST_NAME_MARK / RECALL_LINK_MARK left
    link_prefix: str  # "https://smile.example/r/"
    link_last_day: int  # days since 1970-01-01
    link_key: bytes
    constant_units: int  # GSM-7 septets of the body without the placeholders
    stretches: list[Stretch]
    interval: timedelta
    first_waits: bool  # the first text waits for the window to open
    price: Decimal
    actor: str
    now: datetime


def _defaults(table: Table, given: dict[str, Any]) -> dict[str, Any]:
    """The given columns plus every other column's scalar default, for INSERT … SELECT."""
    values = dict(given)
    for column in table.columns:
        default = column.default
        if column.name not in values and default is not None and default.is_scalar:
            values[column.name] = literal(default.arg, column.type)  # type: ignore[attr-defined]
    return values


def _insert_select(session: Session, table: Table, given: dict[str, Any], source: Any) -> int:
    values = _defaults(table, given)
    query = source.with_only_columns(*[v.label(k) for k, v in values.items()])
    result = session.execute(insert(table).from_select(list(values), query))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def _plus_seconds(dialect: str, base: datetime, seconds: ColumnElement[Any]
                  ) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return literal(_naive(base), DateTime()) + func.make_interval(0, 0, 0, 0, 0, 0, seconds)
    start = _naive(base).isoformat(sep=" ", timespec="microseconds")
    shifted = func.strftime("%Y-%m-%d %H:%M:%f", start,
                            literal("+").concat(cast(seconds, String)).concat(" seconds"))
    return shifted.concat("000")  # the microsecond digits SQLAlchemy stores


def _slot(dialect: str, plan: TextPlan, rank: ColumnElement[Any]) -> ColumnElement[Any]:
    step = plan.interval.total_seconds()
    exprs = [_plus_seconds(dialect, s.opens, (rank - s.first_index) * step)
             for s in plan.stretches]
    whens = [(rank < nxt.first_index, expr)
             for expr, nxt in zip(exprs, plan.stretches[1:], strict=False)]
    return case(*whens, else_=exprs[-1]) if whens else exprs[0]


def _wait_reason(plan: TextPlan, rank: ColumnElement[Any]) -> ColumnElement[Any]:
    first = literal("quiet_hours") if plan.first_waits else literal(None, String)
    whens = [(rank > 0, literal("rate_limited"))]
    if len(plan.stretches) > 1:
        whens.insert(0, (rank >= plan.stretches[1].first_index, literal("quiet_hours")))
    return case(*whens, else_=first)


def _sqlite_hmac(key_hex: str, payload: str) -> str:
    return hmac.new(bytes.fromhex(key_hex), payload.encode(), hashlib.sha256).hexdigest()[
        :SIGNATURE_HEX]


def _signature(session: Session, dialect: str, key: bytes, payload: ColumnElement[Any]
               ) -> ColumnElement[Any]:
    """HMAC-SHA256(key, payload), first 96 bits in hex, computed by the database."""
    if dialect == "postgresql":
        inner, outer = hmac_pads(key)
        digest = func.sha256(literal(outer).concat(
            func.sha256(literal(inner).concat(func.convert_to(payload, "UTF8")))))
        return func.substr(func.encode(digest, "hex"), 1, SIGNATURE_HEX)
    raw = session.connection().connection.dbapi_connection
    raw.create_function("textdesk_link_hmac", 2, _sqlite_hmac,  # type: ignore[union-attr]
                        deterministic=True)
    return func.textdesk_link_hmac(key.hex(), payload)


def _link(session: Session, dialect: str, plan: TextPlan) -> ColumnElement[Any]:
    payload = (literal(f"r{plan.practice_id}-").concat(cast(Patient.id, String))
               .concat(f"-{plan.link_last_day}"))
    return (literal(plan.link_prefix).concat(payload).concat(".")
            .concat(_signature(session, dialect, plan.link_key, payload)))


def ensure_conversations(session: Session, campaign_id: int, practice_id: int,
                         now: datetime, is_postgres: bool) -> None:
    """A conversation for each queued phone that has none (replies land in it)."""
    queued = (select(Patient.phone_e164, func.min(Patient.id).label("pid"))
              .join(CampaignRecipient, CampaignRecipient.patient_id == Patient.id)
              .where(CampaignRecipient.campaign_id == campaign_id,
                     CampaignRecipient.status == "queued")
              .group_by(Patient.phone_e164).subquery())
    values = _defaults(_CONVERSATIONS, {
        "practice_id": literal(practice_id), "phone_e164": queued.c.phone_e164,
        "patient_id": queued.c.pid, "last_message_at": literal(_naive(now), DateTime())})
    source = select(*[v.label(k) for k, v in values.items()]).where(~exists().where(
        Conversation.practice_id == practice_id,
        Conversation.phone_e164 == queued.c.phone_e164))
    dialect_insert = postgresql.insert if is_postgres else sqlite.insert
    session.execute(dialect_insert(_CONVERSATIONS).from_select(list(values), source)
                    .on_conflict_do_nothing())


def write_texts(session: Session, plan: TextPlan, is_postgres: bool) -> int:
    """One clinic's queued recipients become `pending` campaign texts; returns how many."""
    dialect = "postgresql" if is_postgres else "sqlite"
    ranked = (select(CampaignRecipient.patient_id,
                     (func.row_number().over(order_by=CampaignRecipient.patient_id) - 1)
                     .label("k"))
              .join(Patient, Patient.id == CampaignRecipient.patient_id)
              .where(CampaignRecipient.campaign_id == plan.campaign_id,
                     CampaignRecipient.status == "queued", Patient.clinic_id == plan.clinic_id)
              .subquery())
    body = func.replace(func.replace(literal(plan.body), FIRST_NAME_MARK, Patient.first_name),
                        RECALL_LINK_MARK, _link(session, dialect, plan))
    units = (literal(plan.constant_units)
             + func.length(Patient.first_name) * plan.body.count(FIRST_NAME_MARK)
             + (len(plan.link_prefix) + len(f"r{plan.practice_id}--{plan.link_last_day}.")
                + SIGNATURE_HEX + func.length(cast(Patient.id, String)))
             * plan.body.count(RECALL_LINK_MARK))
    segments = case((units <= 160, literal(1)), else_=(units + 152) / 153)
    now = literal(_naive(plan.now), DateTime())
    given = {
        "practice_id": literal(plan.practice_id), "clinic_id": literal(plan.clinic_id),
        "conversation_id": Conversation.id, "patient_id": Patient.id,
        "number_id": literal(plan.number_id), "direction": literal("outbound"),
        "kind": literal("campaign"), "status": literal("pending"), "body": body,
        "to_e164": Patient.phone_e164, "from_e164": literal(plan.from_e164),
        "segments": segments, "encoding": literal("GSM-7"),
        "cost_usd": segments * literal(plan.price), "attempts": literal(0),
        "next_attempt_at": _slot(dialect, plan, ranked.c.k),
        "wait_reason": _wait_reason(plan, ranked.c.k), "created_by": literal(plan.actor),
        "is_read": literal(True), "created_at": now, "updated_at": now,
        "campaign_id": literal(plan.campaign_id)}
    source = (select(Patient.id).select_from(ranked)
              .join(Patient, Patient.id == ranked.c.patient_id)
              .join(Conversation, and_(Conversation.practice_id == plan.practice_id,
                                       Conversation.phone_e164 == Patient.phone_e164)))
    return _insert_select(session, _MESSAGES, given, source)


def write_history(session: Session, campaign_id: int, now: datetime) -> None:
    """Each new text's first history entry, `pending`, as queue_message writes it."""
    given = {"message_id": Message.id, "status": literal("pending"), "source": literal("api"),
             "at": literal(_naive(now), DateTime())}
    _insert_select(session, _EVENTS, given,
                   select(Message.id).where(Message.campaign_id == campaign_id))


def texts_to_recount(session: Session, campaign_id: int, is_postgres: bool, every: bool
                     ) -> list[tuple[int, str]]:
    """Texts whose segments the database could not count exactly: names beyond plain
    letters (é, ñ, emoji …), or every text when the template itself is not plain GSM-7."""
    query = (select(Message.id, Message.body).join(Patient, Patient.id == Message.patient_id)
             .where(Message.campaign_id == campaign_id))
    if not every:
        unusual = (Patient.first_name.op("~")("[^A-Za-z .'-]") if is_postgres
                   else Patient.first_name.op("GLOB")("*[^A-Za-z .'-]*"))
        query = query.where(unusual)
    return [(i, b) for i, b in session.execute(query)]


def set_segments(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(update(Message), list(rows))


# --- pause, resume, cancel, count -----------------------------------------------------------

def hold_all(session: Session, campaign_id: int, now: datetime) -> int:
    result = session.execute(
        update(Message).where(Message.campaign_id == campaign_id, Message.status == "pending")
        .values(next_attempt_at=PAUSED_UNTIL, wait_reason="campaign_paused", updated_at=now)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def waiting_per_number(session: Session, campaign_id: int) -> dict[int, int]:
    rows = session.execute(select(Message.number_id, func.count()).where(
        Message.campaign_id == campaign_id, Message.status == "pending")
        .group_by(Message.number_id))
    return {number: int(n) for number, n in rows if number is not None}


def replan(session: Session, plan: TextPlan, is_postgres: bool) -> None:
    """Lay a resumed campaign's waiting texts of one number out again, from now."""
    dialect = "postgresql" if is_postgres else "sqlite"
    ranked = (select(Message.id, (func.row_number().over(order_by=Message.id) - 1).label("k"))
              .where(Message.campaign_id == plan.campaign_id, Message.status == "pending",
                     Message.number_id == plan.number_id).subquery())
    session.execute(update(Message).where(Message.id == ranked.c.id)
                    .values(next_attempt_at=_slot(dialect, plan, ranked.c.k),
                            wait_reason=_wait_reason(plan, ranked.c.k), updated_at=plan.now)
                    .execution_options(synchronize_session=False))


def waiting_texts(session: Session, campaign_id: int) -> list[Message]:
    return list(session.scalars(select(Message).where(
        Message.campaign_id == campaign_id, Message.status == "pending").with_for_update()))


def status_counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(select(Message.status, func.count()).where(
        Message.campaign_id == campaign_id).group_by(Message.status))
    return {status: int(n) for status, n in rows}
