"""Message queries: the queue (claim with a lease), statuses, history, conversations, commlogs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from textdesk.domain.pacing import PACED_KINDS
from textdesk.storage.db import insert_once
from textdesk.storage.models import (
    CallbackReceipt,
    Commlog,
    ConsentCurrent,
    Conversation,
    Message,
    MessageEvent,
    SendingNumber,
)


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


def messages_of_conversation(session: Session, practice_id: int, conversation_id: int,
                             limit: int = 200) -> list[Message]:
    rows = session.scalars(
        select(Message)
        .where(Message.practice_id == practice_id, Message.conversation_id == conversation_id)
        .order_by(Message.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def history(session: Session, message_id: int) -> list[MessageEvent]:
    return list(session.scalars(
        select(MessageEvent).where(MessageEvent.message_id == message_id)
        .order_by(MessageEvent.id)))


def add_event(session: Session, message: Message | None, status: str, source: str, at: datetime,
              error_code: int | None = None, applied: bool = True,
              carrier_sid: str | None = None) -> None:
    session.add(MessageEvent(
        message_id=message.id if message else None,
        carrier_sid=carrier_sid or (message.carrier_sid if message else None),
        status=status, source=source, error_code=error_code, applied=applied, at=at))


def orphan_events(session: Session, carrier_sid: str) -> list[MessageEvent]:
    """Callbacks kept for a sid no message had yet, oldest first."""
    if not carrier_sid:
        return []
    return list(session.scalars(
        select(MessageEvent).where(MessageEvent.carrier_sid == carrier_sid,
                                   MessageEvent.message_id.is_(None))
        .order_by(MessageEvent.id).with_for_update()))


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
              limit: int, is_postgres: bool) -> list[Message]:
    """Move due, sendable messages pending → sending in one statement and return them.

    Due means: pending, its next attempt has come, its number is verified, and no opt-out of
    all texts is on record for the recipient's phone at this instant (a STOP committed before
    this statement means the text never leaves).
    """
    opted_out = exists().where(
        ConsentCurrent.practice_id == Message.practice_id,
        ConsentCurrent.phone_e164 == Message.to_e164,
        ConsentCurrent.state == "opted_out",
    )
    number_ready = exists().where(
        SendingNumber.id == Message.number_id, SendingNumber.status == "active")
    due = (
        select(Message.id)
        .where(Message.status == "pending", Message.next_attempt_at <= now,
               Message.direction == "outbound", number_ready,
               # campaign texts go through the paced claim (services.pacing)
               Message.kind.notin_(sorted(PACED_KINDS)),
               ~and_(opted_out, Message.kind != "test", Message.kind != "system"))
        .order_by(Message.next_attempt_at, Message.id)
        .limit(limit)
    )
    if is_postgres:
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
        .where(chosen, Message.status == "pending")
        .values(status="sending", claimed_by=connector_id, lease_until=lease_until,
                attempts=Message.attempts + 1, updated_at=now)
        .returning(Message)
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(stmt))


def expired_leases(session: Session, now: datetime, limit: int = 100) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.status == "sending", Message.lease_until < now)
        .order_by(Message.id).limit(limit).with_for_update(skip_locked=True)))


def pending_to_phone(session: Session, practice_id: int, e164: str) -> list[Message]:
    return list(session.scalars(
        select(Message).where(Message.practice_id == practice_id, Message.to_e164 == e164,
                              Message.status == "pending", Message.direction == "outbound")
        .with_for_update()))


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


def month_spend(session: Session, practice_id: int, clinic_id: int, since: datetime) -> float:
    total = session.scalar(
        select(func.coalesce(func.sum(Message.cost_usd), 0)).where(
            Message.practice_id == practice_id, Message.clinic_id == clinic_id,
            Message.direction == "outbound", Message.sent_at >= since))
    return float(total or 0)


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
