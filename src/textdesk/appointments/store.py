"""The appointments table and its queries, always scoped to a practice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.storage.db import cast_table, insert_rows
from textdesk.storage.models.appointments import Appointment


def add(session: Session, appointment: Appointment) -> Appointment:
    session.add(appointment)
    session.flush()
    return appointment


def add_many(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    return insert_rows(session, cast_table(Appointment), rows)


def get(session: Session, practice_id: int, appointment_id: int) -> Appointment | None:
    return session.scalar(select(Appointment).where(
        Appointment.id == appointment_id, Appointment.practice_id == practice_id))


def list_for(session: Session, practice_id: int, *, patient_id: int | None = None,
             lead_id: int | None = None, start_from: datetime | None = None,
             start_until: datetime | None = None, limit: int = 500) -> list[Appointment]:
    query = select(Appointment).where(Appointment.practice_id == practice_id)
    if patient_id is not None:
        query = query.where(Appointment.patient_id == patient_id)
    if lead_id is not None:
        query = query.where(Appointment.lead_id == lead_id)
    if start_from is not None:
        query = query.where(Appointment.start_at >= start_from)
    if start_until is not None:
        query = query.where(Appointment.start_at < start_until)
    return list(session.scalars(query.order_by(Appointment.start_at, Appointment.id)
                                .limit(limit)))


def by_external_id(session: Session, practice_id: int, external_id: str) -> Appointment | None:
    return session.scalar(select(Appointment).where(
        Appointment.practice_id == practice_id, Appointment.external_id == external_id))
