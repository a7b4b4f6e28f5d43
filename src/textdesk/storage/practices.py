"""Queries for practices, clinics, sending numbers and patients, always scoped to a practice."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.storage.models import Clinic, Patient, Practice, SendingNumber


def practice_by_token_hash(session: Session, token_hash: str) -> Practice | None:
    return session.scalar(select(Practice).where(Practice.api_token_hash == token_hash))


def get_practice(session: Session, practice_id: int) -> Practice | None:
    return session.get(Practice, practice_id)


def list_practices(session: Session) -> list[Practice]:
    return list(session.scalars(select(Practice).order_by(Practice.id)))


def get_clinic(session: Session, practice_id: int, clinic_id: int) -> Clinic | None:
    return session.scalar(
        select(Clinic).where(Clinic.id == clinic_id, Clinic.practice_id == practice_id))


def list_clinics(session: Session, practice_id: int) -> list[Clinic]:
    return list(session.scalars(
        select(Clinic).where(Clinic.practice_id == practice_id).order_by(Clinic.id)))


def first_clinic(session: Session, practice_id: int) -> Clinic | None:
    return session.scalar(
        select(Clinic).where(Clinic.practice_id == practice_id).order_by(Clinic.id).limit(1))


def get_number(session: Session, number_id: int) -> SendingNumber | None:
    return session.get(SendingNumber, number_id)


def number_by_e164(session: Session, e164: str) -> SendingNumber | None:
    return session.scalar(select(SendingNumber).where(SendingNumber.e164 == e164))


def clinic_number(session: Session, practice_id: int, clinic_id: int) -> SendingNumber | None:
    """The clinic's sending number: an approved one first, then the newest."""
    rows = session.scalars(
        select(SendingNumber)
        .where(SendingNumber.practice_id == practice_id, SendingNumber.clinic_id == clinic_id)
        .order_by(SendingNumber.id.desc())
    ).all()
    approved = [n for n in rows if n.registration_status == "approved"]
    candidates = approved or list(rows)
    return candidates[0] if candidates else None


def list_numbers(session: Session, practice_id: int) -> list[SendingNumber]:
    return list(session.scalars(
        select(SendingNumber).where(SendingNumber.practice_id == practice_id)
        .order_by(SendingNumber.id)))


def get_patient(session: Session, practice_id: int, patient_id: int) -> Patient | None:
    return session.scalar(
        select(Patient).where(Patient.id == patient_id, Patient.practice_id == practice_id))


def patients_by_phone(session: Session, practice_id: int, e164: str) -> list[Patient]:
    return list(session.scalars(
        select(Patient).where(Patient.practice_id == practice_id, Patient.phone_e164 == e164)
        .order_by(Patient.id)))


def list_patients(session: Session, practice_id: int, limit: int = 500) -> list[Patient]:
    return list(session.scalars(
        select(Patient).where(Patient.practice_id == practice_id).order_by(Patient.id)
        .limit(limit)))
