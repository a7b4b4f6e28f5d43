"""Message queries: the queue (claim with a lease), statuses, history, conversations, commlogs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import bindparam, event as orm_events, exists, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textdesk.domain.messages import claim_move
from textdesk.domain.pacing import PACED_KINDS
from textdesk.storage.db import cast_table, insert_once, is_postgres_session
from textdesk.storage.models import (
    CallbackReceipt,
    ClinicSpend,
    Commlog,
    Conversation,
    Message,
    MessageEvent,
    SendingNumber,
)
from textdesk.storage.opt_out import stopped_by_opt_out

_MESSAGES = cast_table(Message)
_EVENTS = cast_table(MessageEvent)


def get_message(session: Session, practice_id: int, message_id: int) -> Message | None:
    return session.scalar(
        select(Message).where(Message.id == message_id, Message.practice_id == practice_id))


def message_by_sid(session: Session, carrier: str, sid: str) -> Message | None:
    return session.scalar(
        select(Message).where(Message.carrier == carrier, Message.carrier_sid == sid))


def messages_of_patient(session: Session, practice_id: int, patient_id: int) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.practice_id == practice_id, Message.patient_id == patient_id)
        .order_by(Message.id)))


def history(session: Session, message_id: int) -> list[MessageEvent]:
    return list(session.scalars(
        select(MessageEvent).where(MessageEvent.message_id == message_id)
        .order_by(MessageEvent.id)))


def add_event(session: Session, message: Message | None, status: str, source: str, at: datetime,
              error_code: int | None = None, applied: bool = True,
              carrier_sid: str | None = None, step: str | None = None,
              note: str | None = None) -> None:
    """One history entry (written by the lifecycle owner, or a report for no known message)."""
    session.add(MessageEvent(
        message_id=message.id if message else None,
        carrier_sid=carrier_sid or (message.carrier_sid if message else None),
        status=status, source=source, step=step, note=note, error_code=error_code,
        applied=applied, at=at))


def orphan_events(session: Session, carrier_sid: str) -> list[MessageEvent]:
    """Callbacks kept for a sid no message had yet, oldest first."""
    if not carrier_sid:
        return []
    return list(session.scalars(
        select(MessageEvent).where(MessageEvent.carrier_sid == carrier_sid,
                                   MessageEvent.message_id.is_(None))
        .order_by(MessageEvent.id).with_for_update()))


def orphan_events_of(session: Session, carrier_sids: Iterable[str]
                     ) -> dict[str, list[MessageEvent]]:
    """`orphan_events` of many sids in one query, by sid (absent: none kept)."""
    found: dict[str, list[MessageEvent]] = {}
    sids = sorted({sid for sid in carrier_sids if sid})
    for start in range(0, len(sids), 500):
        for event in session.scalars(
                select(MessageEvent).where(MessageEvent.carrier_sid.in_(sids[start:start + 500]),
                                           MessageEvent.message_id.is_(None))
                .order_by(MessageEvent.id).with_for_update()):
            found.setdefault(event.carrier_sid or "", []).append(event)
    return found


def messages_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Message]:
    """Messages by id (one query for every 500 ids)."""
    wanted = sorted(set(ids))
    found: dict[int, Message] = {}
    for start in range(0, len(wanted), 500):
        for message in session.scalars(select(Message).where(
                Message.id.in_(wanted[start:start + 500]))):
            found[message.id] = message
    return found


def messages_with_orphan_events(session: Session, limit: int = 100) -> list[Message]:
    """Messages that have callbacks kept before their sid was committed (a race on PostgreSQL)."""
    orphan = select(MessageEvent.carrier_sid).where(MessageEvent.message_id.is_(None),
                                                    MessageEvent.carrier_sid.is_not(None))
    return list(session.scalars(
        select(Message).where(Message.carrier_sid.in_(orphan)).limit(limit)))


def record_callback_receipt(session: Session, carrier: str, sid: str, status: str,
                            error_code: int | None, at: datetime) -> bool:
    """True when this (carrier, sid, status) is new; a repeat only counts itself."""
    existing = session.scalar(select(CallbackReceipt).where(
        CallbackReceipt.carrier == carrier, CallbackReceipt.carrier_sid == sid,
        CallbackReceipt.status == status).with_for_update())
    if existing is not None:
        existing.times_seen += 1
        return False
    return insert_once(session, CallbackReceipt(carrier=carrier, carrier_sid=sid, status=status,
                                                error_code=error_code, received_at=at))


def claim_due(session: Session, connector_id: str, now: datetime, lease_until: datetime,
              limit: int) -> list[Message]:
    """Take due, sendable messages through the claim step in one statement and return them.

    Which statuses are claimed and what they become is the transition table's claim step.
    Due means: claimable, its next attempt has come, its number is verified, and its phone's
    opt-out (at this instant) does not stop it (a STOP committed before this statement means
    the text never leaves). The caller records the claim through `lifecycle.claimed`.
    """
    claimable, claimed = claim_move()
    number_ready = exists().where(
        SendingNumber.id == Message.number_id, SendingNumber.status == "active")
    due = (
        select(Message.id)
        .where(Message.status.in_(sorted(claimable)), Message.next_attempt_at <= now,
               Message.direction == "outbound", number_ready,
               # campaign texts go through the paced claim (campaigns.pacing)
               Message.kind.notin_(sorted(PACED_KINDS)),
               ~stopped_by_opt_out())
        .order_by(Message.next_attempt_at, Message.id)
        .limit(limit)
    )
    if is_postgres_session(session):
        # `id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` does not bound the claim on
        # PostgreSQL: with two connectors claiming at once the sub-select is re-run and one
        # UPDATE took 980 rows under LIMIT 20. A materialized CTE is evaluated exactly once
        # (docs/decisions/0042-claim-through-a-materialized-cte.md).
        picked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        chosen = Message.id == picked.c.id
    else:
        chosen = Message.id.in_(due.scalar_subquery())
    stmt = (
        update(Message)
        .where(chosen, Message.status.in_(sorted(claimable)))
        .values(status=claimed.value, claimed_by=connector_id, lease_until=lease_until,
                attempts=Message.attempts + 1, updated_at=now)
        .returning(Message)
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(stmt))


def expired_leases(session: Session, now: datetime, limit: int = 100) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.status == "sending", Message.lease_until < now)
        .order_by(Message.id).limit(limit).with_for_update(skip_locked=True)))


def expired_waiting(session: Session, now: datetime, limit: int) -> list[Message]:
    """Waiting texts whose validity has ended, oldest expiry first (locked for the sweep)."""
    return list(session.scalars(
        select(Message).where(Message.status == "pending", Message.expires_at <= now)
        .order_by(Message.expires_at, Message.id).limit(limit)
        .with_for_update(skip_locked=True)))


def pending_to_phone(session: Session, practice_id: int, e164: str) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.practice_id == practice_id, Message.to_e164 == e164,
                              Message.status == "pending", Message.direction == "outbound")
        .with_for_update()))


def pending_to_phones(session: Session, practice_id: int, phones: list[str]) -> list[Message]:
    found: list[Message] = []
    for start in range(0, len(phones), 500):
        found += session.scalars(
            select(Message).where(Message.practice_id == practice_id,
                                  Message.to_e164.in_(phones[start:start + 500]),
                                  Message.status == "pending", Message.direction == "outbound")
            .order_by(Message.id).with_for_update())
    return found


def pending_summary(session: Session, practice_id: int) -> tuple[int, datetime | None]:
    count, oldest = session.execute(
        select(func.count(Message.id), func.min(Message.created_at))
        .where(Message.practice_id == practice_id, Message.status.in_(("pending", "sending")))
    ).one()
    return int(count), oldest


def retry_waiting(session: Session, practice_id: int, now: datetime) -> int:
    """Make every waiting message of the practice due now (the connector's Refresh)."""
    result = session.execute(
        update(Message).where(Message.practice_id == practice_id, Message.status == "pending",
                              Message.next_attempt_at > now)
        .values(next_attempt_at=now).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_SENT = "textdesk.sent_texts"  # session.info: the texts this transaction sent, by id()


def month_spend(session: Session, practice_id: int, clinic_id: int, since: datetime) -> Decimal:
    """What the clinic's texts sent in the month starting at `since` cost: its kept row, and
    the texts this transaction sent that are not in it yet (decision 0196)."""
    month = month_key(since)
    kept = session.scalar(select(ClinicSpend.cost_usd).where(
        ClinicSpend.clinic_id == clinic_id, ClinicSpend.month == month,
        ClinicSpend.practice_id == practice_id))
    unwritten = _unwritten_spend(session).get((practice_id, clinic_id, month), Decimal("0"))
    return (kept or Decimal("0")) + unwritten


def month_key(at: datetime) -> str:
    """The calendar month (UTC) a text's cost counts in: "2026-12"."""
    return at.astimezone(UTC).strftime("%Y-%m")


def note_sent(session: Session, message: Message) -> None:
    """`message` was just sent (its `sent_at` set): its cost goes into its clinic's month when
    the transaction commits. Kept on the message, not as a number, so a savepoint rolled back
    takes the text's send, and its cost, with it."""
    if message.direction == "outbound" and message.clinic_id is not None:
        session.info.setdefault(_SENT, {})[id(message)] = message


def _unwritten_spend(session: Session) -> dict[tuple[int, int, str], Decimal]:
    totals: dict[tuple[int, int, str], Decimal] = {}
    for message in session.info.get(_SENT, {}).values():
        if message.sent_at is None or message.clinic_id is None:
            continue  # its send was rolled back
        key = (message.practice_id, message.clinic_id, month_key(message.sent_at))
        totals[key] = totals.get(key, Decimal("0")) + (message.cost_usd or Decimal("0"))
    return totals


@orm_events.listens_for(Session, "before_commit")
def _write_spend(session: Session) -> None:
    """The sent texts' costs, added to their clinics' months as the transaction's last writes,
    in one order (clinic, month) in every transaction: two transactions never wait for each
    other's spend rows in opposite orders, and no other lock is asked for after them. A
    savepoint's release is not the end: its texts wait for the transaction's commit."""
    if session.in_nested_transaction():
        return
    totals = _unwritten_spend(session)
    session.info.pop(_SENT, None)
    if not totals:
        return
    dialect_insert = postgresql.insert if is_postgres_session(session) else sqlite.insert
    table = cast_table(ClinicSpend)
    for (practice_id, clinic_id, month), cost in sorted(
            totals.items(), key=lambda item: (item[0][1], item[0][2])):
        statement = dialect_insert(table).values(
            clinic_id=clinic_id, month=month, practice_id=practice_id, cost_usd=cost)
        session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.clinic_id, table.c.month],
            set_={"cost_usd": table.c.cost_usd + statement.excluded.cost_usd}))


@orm_events.listens_for(Session, "after_rollback")
def _forget_spend(session: Session) -> None:
    session.info.pop(_SENT, None)


# --- conversations ---------------------------------------------------------------------------

def conversation_for(session: Session, practice_id: int, e164: str, at: datetime) -> Conversation:
    """The conversation with a phone, created on first use.

    Two first texts from one phone can arrive at once (a carrier's retry, a replay); the
    loser of the unique (practice, phone) key takes the winner's row instead of failing.
    """
    found = select(Conversation).where(
        Conversation.practice_id == practice_id, Conversation.phone_e164 == e164)
    conv = session.scalar(found)
    if conv is not None:
        return conv
    conv = Conversation(practice_id=practice_id, phone_e164=e164, last_message_at=at,
                        unread_count=0, needs_review=False, is_shared_phone=False,
                        is_blocked=False, last_preview="")
    if insert_once(session, conv):
        return conv
    conv = session.scalar(found)
    assert conv is not None
    return conv


def conversations_for(session: Session, practice_id: int, phones: set[str], at: datetime
                      ) -> dict[str, int]:
    """`conversation_for` of many phones: the id of each phone's conversation, the missing
    ones created (insert-or-ignore on the unique (practice, phone) key, so a concurrent first
    text to the same phone is no error)."""
    def existing() -> dict[str, int]:
        return {phone: cid for cid, phone in session.execute(
            select(Conversation.id, Conversation.phone_e164).where(
                Conversation.practice_id == practice_id, Conversation.phone_e164.in_(phones)))}

    found = existing() if phones else {}
    missing = sorted(phones - set(found))
    if missing:
        dialect_insert = postgresql.insert if is_postgres_session(session) else sqlite.insert
        session.execute(dialect_insert(cast_table(Conversation)).on_conflict_do_nothing(), [
            {"practice_id": practice_id, "phone_e164": phone, "last_message_at": at,
             "unread_count": 0, "needs_review": False, "is_shared_phone": False,
             "is_blocked": False, "last_preview": ""} for phone in missing])
        found = existing()
    return found


def insert_outbound(session: Session, rows: Sequence[dict[str, object]]) -> list[int]:
    """Write computed texts (each row all of a message's columns); their ids, in order."""
    if not rows:
        return []
    # Core, not the ORM's bulk path: no instance state per row; multi-row INSERTs.
    if is_postgres_session(session):
        stmt = insert(_MESSAGES).returning(_MESSAGES.c.id, sort_by_parameter_order=True)
        return [int(i) for i in session.execute(stmt, list(rows)).scalars()]
    # SQLite would answer RETURNING in parameter order only one row per statement. A write
    # transaction holds SQLite's one write lock, so no other row can come in between: the ids
    # are the ones SQLite itself would give (one past the largest), set explicitly.
    first = int(session.scalar(select(func.max(Message.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    session.execute(insert(_MESSAGES), [{**row, "id": i} for row, i in zip(rows, ids,
                                                                            strict=True)])
    return ids


def add_events(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Many history entries at once (the lifecycle owner's bulk path)."""
    if rows:
        session.execute(insert(_EVENTS), list(rows))


def note_outbound(session: Session, rows: Sequence[dict[str, object]]) -> None:
    """Each conversation's newest text: `{cid, at, preview, patient_id, lead_id}`; a missing
    patient or lead of the conversation is filled in, never replaced."""
    if not rows:
        return
    table = cast_table(Conversation)
    stmt = (update(table).where(table.c.id == bindparam("cid")).values(
        last_message_at=bindparam("at"), last_preview=bindparam("preview"),
        patient_id=func.coalesce(table.c.patient_id, bindparam("pid")),
        lead_id=func.coalesce(table.c.lead_id, bindparam("lid"))))
    session.execute(stmt, list(rows))


def get_conversation(session: Session, practice_id: int, conversation_id: int
                     ) -> Conversation | None:
    return session.scalar(select(Conversation).where(
        Conversation.id == conversation_id, Conversation.practice_id == practice_id))


# --- commlogs --------------------------------------------------------------------------------

def commlogs_of_patient(session: Session, practice_id: int, patient_id: int) -> list[Commlog]:
    return list(session.scalars(
        select(Commlog).where(Commlog.practice_id == practice_id, Commlog.patient_id == patient_id)
        .order_by(Commlog.id)))


def get_commlog(session: Session, practice_id: int, commlog_id: int) -> Commlog | None:
    return session.scalar(
        select(Commlog).where(Commlog.id == commlog_id, Commlog.practice_id == practice_id))


def add_all(session: Session, rows: Sequence[object]) -> None:
    session.add_all(rows)
    session.flush()


def messages_by_sids(session: Session, carrier: str, sids: set[str]) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.carrier == carrier, Message.carrier_sid.in_(sids))))
