"""Automated messaging tables and their queries: templates, reminder rules, reminders sent,
confirmation requests, link keys and recall time requests; always scoped to a practice.

The per-number pacing state lives here too (its queries are in storage.pacing); campaigns are
in storage.campaigns. Messages are linked from these tables, never the other way round, except
`messages.campaign_id` which bulk fan-out needs.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.orm import Session

from textdesk.storage.db import insert_once
from textdesk.storage.models import Appointment, Base, ConsentEvent, Message
from textdesk.storage.models.automation import (
    ConfirmationRequest,
    LinkKey,
    MessageTemplate,
    RecallRequest,
    ReminderRule,
    ReminderSend,
)

# --- templates -------------------------------------------------------------------------------

def get_template(session: Session, practice_id: int, template_id: int) -> MessageTemplate | None:
    return session.scalar(select(MessageTemplate).where(
        MessageTemplate.id == template_id, MessageTemplate.practice_id == practice_id))


def template_by_name(session: Session, practice_id: int, name: str) -> MessageTemplate | None:
    return session.scalar(select(MessageTemplate).where(
        MessageTemplate.practice_id == practice_id, MessageTemplate.name == name))


def list_templates(session: Session, practice_id: int) -> list[MessageTemplate]:
    return list(session.scalars(select(MessageTemplate).where(
        MessageTemplate.practice_id == practice_id).order_by(MessageTemplate.id)))


# --- reminder rules and reminders -----------------------------------------------------------

def get_rule(session: Session, practice_id: int, rule_id: int) -> ReminderRule | None:
    return session.scalar(select(ReminderRule).where(
        ReminderRule.id == rule_id, ReminderRule.practice_id == practice_id))


def list_rules(session: Session, practice_id: int, active_only: bool = False
               ) -> list[ReminderRule]:
    query = select(ReminderRule).where(ReminderRule.practice_id == practice_id)
    if active_only:
        query = query.where(ReminderRule.is_active.is_(True))
    return list(session.scalars(query.order_by(ReminderRule.id)))


def practices_with_rules(session: Session) -> list[int]:
    return list(session.scalars(select(ReminderRule.practice_id).where(
        ReminderRule.is_active.is_(True)).distinct().order_by(ReminderRule.practice_id)))


def upcoming_appointments(session: Session, practice_id: int, start_from: datetime,
                          start_until: datetime, statuses: list[str]) -> list[Appointment]:
    return list(session.scalars(select(Appointment).where(
        Appointment.practice_id == practice_id, Appointment.start_at >= start_from,
        Appointment.start_at < start_until, Appointment.status.in_(statuses))
        .order_by(Appointment.start_at, Appointment.id)))


def sent_rule_ids(session: Session, appointment_ids: list[int]) -> set[tuple[int, int]]:
    """(appointment, rule) pairs that already have their reminder row."""
    if not appointment_ids:
        return set()
    rows = session.execute(select(ReminderSend.appointment_id, ReminderSend.rule_id).where(
        ReminderSend.appointment_id.in_(appointment_ids)))
    return {(a, r) for a, r in rows}


def claim_reminder(session: Session, row: ReminderSend) -> bool:
    """Insert the reminder's row; False when another scheduler already did (unique key)."""
    return insert_once(session, row)


def reminders_of(session: Session, practice_id: int, appointment_id: int) -> list[ReminderSend]:
    return list(session.scalars(select(ReminderSend).where(
        ReminderSend.practice_id == practice_id, ReminderSend.appointment_id == appointment_id)
        .order_by(ReminderSend.id)))


def forget_reminders(session: Session, practice_id: int, appointment_id: int) -> None:
    """A moved appointment gets its reminders again: the old rows no longer apply."""
    for row in reminders_of(session, practice_id, appointment_id):
        session.delete(row)
    session.flush()


def pending_messages_of_appointment(session: Session, practice_id: int,
                                    appointment_id: int) -> list[Message]:
    reminder_ids = select(ReminderSend.message_id).where(
        ReminderSend.practice_id == practice_id, ReminderSend.appointment_id == appointment_id)
    return list(session.scalars(select(Message).where(
        Message.practice_id == practice_id, Message.id.in_(reminder_ids),
        Message.status == "pending").with_for_update()))


# --- confirmations ---------------------------------------------------------------------------

def latest_open_request(session: Session, practice_id: int, phone_e164: str,
                        ) -> ConfirmationRequest | None:
    return session.scalar(select(ConfirmationRequest).where(
        ConfirmationRequest.practice_id == practice_id,
        ConfirmationRequest.phone_e164 == phone_e164, ConfirmationRequest.status == "open")
        .order_by(ConfirmationRequest.id.desc()).limit(1).with_for_update())


def get_request(session: Session, practice_id: int, request_id: int, *, lock: bool = True
                ) -> ConfirmationRequest | None:
    """The request, locked for the change about to be made (`lock=False` in a read)."""
    query = select(ConfirmationRequest).where(
        ConfirmationRequest.id == request_id, ConfirmationRequest.practice_id == practice_id)
    return session.scalar(query.with_for_update() if lock else query)


def requests_of_appointment(session: Session, practice_id: int, appointment_id: int
                            ) -> list[ConfirmationRequest]:
    return list(session.scalars(select(ConfirmationRequest).where(
        ConfirmationRequest.practice_id == practice_id,
        ConfirmationRequest.appointment_id == appointment_id).order_by(ConfirmationRequest.id)))


def close_open_requests(session: Session, practice_id: int, appointment_id: int,
                        now: datetime) -> None:
    session.execute(update(ConfirmationRequest).where(
        ConfirmationRequest.practice_id == practice_id,
        ConfirmationRequest.appointment_id == appointment_id,
        ConfirmationRequest.status == "open").values(status="closed", answered_at=now)
        .execution_options(synchronize_session="fetch"))


def changed_consent(session: Session, practice_id: int, message_id: int) -> bool:
    """Whether this inbound text was itself a consent keyword (STOP, START, YES after STOP)."""
    return session.scalar(select(ConsentEvent.id).where(
        ConsentEvent.practice_id == practice_id,
        ConsentEvent.evidence_message_id == message_id).limit(1)) is not None


# --- link keys and recall requests ---------------------------------------------------------

def find_link_key(session: Session, practice_id: int) -> bytes | None:
    row = session.get(LinkKey, practice_id)
    return row.secret if row is not None else None


def link_key(session: Session, practice_id: int, now: datetime) -> bytes:
    """The practice's link secret, made on first use (two makers: one wins, both read it)."""
    row = session.get(LinkKey, practice_id)
    if row is not None:
        return row.secret
    insert_once(session, LinkKey(practice_id=practice_id, secret=secrets.token_bytes(32),
                                 created_at=now))
    row = session.get(LinkKey, practice_id, populate_existing=True)
    assert row is not None
    return row.secret


def add(session: Session, row: Base) -> None:
    session.add(row)
    session.flush()


def list_recall_requests(session: Session, practice_id: int, limit: int = 200
                         ) -> list[RecallRequest]:
    return list(session.scalars(select(RecallRequest).where(
        RecallRequest.practice_id == practice_id).order_by(RecallRequest.id.desc())
        .limit(limit)))


def add_all(session: Session, rows: list[Base]) -> None:
    session.add_all(rows)
    session.flush()
