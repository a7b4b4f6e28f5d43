"""Every query of the audit trail, and the look-ups that name a request's patient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.storage.models import AuditEvent, Commlog, Conversation, Message


def add(session: Session, event: AuditEvent) -> None:
    session.add(event)


def add_all(session: Session, rows: list[AuditEvent]) -> None:
    session.add_all(rows)


def events(session: Session, practice_id: int, *, staff: str | None, patient_id: int | None,
           since: datetime | None, until: datetime | None, limit: int,
           newest_first: bool = False) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.practice_id == practice_id)
    if staff is not None:
        query = query.where(AuditEvent.staff == staff)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    order = ((AuditEvent.at.desc(), AuditEvent.id.desc()) if newest_first
             else (AuditEvent.at, AuditEvent.id))
    return list(session.scalars(query.order_by(*order).limit(limit)))


def patient_of_conversation(session: Session, practice_id: int, conversation_id: int
                            ) -> int | None:
    return session.scalar(select(Conversation.patient_id).where(
        Conversation.practice_id == practice_id, Conversation.id == conversation_id))


def patient_of_commlog(session: Session, practice_id: int, commlog_id: int) -> int | None:
    return session.scalar(select(Commlog.patient_id).where(
        Commlog.practice_id == practice_id, Commlog.id == commlog_id))


def patient_of_message(session: Session, practice_id: int, message_id: int) -> int | None:
    return session.scalar(select(Message.patient_id).where(
        Message.practice_id == practice_id, Message.id == message_id))


def patients_of_messages(session: Session, practice_id: int, message_ids: list[int]
                         ) -> dict[int, int]:
    if not message_ids:
        return {}
    rows = session.execute(select(Message.id, Message.patient_id).where(
        Message.practice_id == practice_id, Message.id.in_(message_ids)))
    return {mid: pid for mid, pid in rows if pid is not None}
