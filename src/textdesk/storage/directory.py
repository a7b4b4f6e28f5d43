"""The practice directory every feature shares: practices, clinics, sending numbers and patients,
always scoped to a practice."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from textdesk.storage.db import cast_table, insert_rows
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


def number_by_messaging_service(session: Session, sid: str) -> SendingNumber | None:
    """The number that sends through this messaging service (its oldest, when several)."""
    return session.scalar(select(SendingNumber).where(
        SendingNumber.messaging_service_sid == sid).order_by(SendingNumber.id).limit(1))


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


def patient_phones(session: Session, practice_id: int, ids: set[int]
                   ) -> list[tuple[int, int, str | None, str | None]]:
    """(id, clinic, phone as given, carrier's finding) of the practice's patients among `ids`
    (another practice's ids are simply absent); plain rows, no ORM objects, for batches."""
    if not ids:
        return []
    rows = session.execute(select(Patient.id, Patient.clinic_id, Patient.phone_raw,
                                  Patient.phone_finding)
                           .where(Patient.practice_id == practice_id, Patient.id.in_(ids)))
    return [(pid, clinic, raw, finding) for pid, clinic, raw, finding in rows]


def practice_of_patient(session: Session, patient_id: int) -> int | None:
    """The practice a patient belongs to: a patient's id names it."""
    return session.scalar(select(Patient.practice_id).where(Patient.id == patient_id))


def patients_by_phone(session: Session, practice_id: int, e164: str) -> list[Patient]:
    return list(session.scalars(
        select(Patient).where(Patient.practice_id == practice_id, Patient.phone_e164 == e164)
        .order_by(Patient.id)))


# A few ids or phones are looked up with IN (...); past _FEW the practice's own rows are read
# once instead: binding tens of thousands of values costs more than reading the practice.
_FEW = 1_000


def existing_patient_ids(session: Session, practice_id: int, ids: set[int]) -> set[int]:
    """Which of `ids` are the practice's patients, in one read."""
    query = select(Patient.id).where(Patient.practice_id == practice_id)
    if len(ids) <= _FEW:
        query = query.where(Patient.id.in_(sorted(ids)))
    return ids & set(session.scalars(query))


def patient_clinics(session: Session, practice_id: int, ids: set[int]) -> dict[int, int]:
    """The clinic of each of `ids` that is the practice's patient, in one read."""
    query = select(Patient.id, Patient.clinic_id).where(Patient.practice_id == practice_id)
    if len(ids) <= _FEW:
        query = query.where(Patient.id.in_(sorted(ids)))
    return {patient_id: clinic_id for patient_id, clinic_id in session.execute(query)
            if patient_id in ids}


def patient_ids_by_phones(session: Session, practice_id: int, phones: set[str]
                          ) -> dict[str, list[int]]:
    """Each phone's patients (ids in order), in one read."""
    query = select(Patient.id, Patient.phone_e164).where(
        Patient.practice_id == practice_id, Patient.phone_e164.is_not(None))
    if len(phones) <= _FEW:
        query = query.where(Patient.phone_e164.in_(sorted(phones)))
    found: dict[str, list[int]] = {}
    for patient_id, e164 in session.execute(query.order_by(Patient.id)):
        if e164 in phones:
            found.setdefault(e164, []).append(patient_id)
    return found


def list_patients(session: Session, practice_id: int, limit: int = 500) -> list[Patient]:
    return list(session.scalars(
        select(Patient).where(Patient.practice_id == practice_id).order_by(Patient.id)
        .limit(limit)))


def patient_facts(session: Session, practice_id: int, patient_ids: Iterable[int]
                  ) -> dict[int, tuple[int, str | None]]:
    """(clinic id, phone) of each of these patients of the practice, in few queries."""
    ids = sorted(set(patient_ids))
    found: dict[int, tuple[int, str | None]] = {}
    for start in range(0, len(ids), 500):
        for pid, clinic_id, e164 in session.execute(
                select(Patient.id, Patient.clinic_id, Patient.phone_e164).where(
                    Patient.practice_id == practice_id, Patient.id.in_(ids[start:start + 500]))):
            found[pid] = (clinic_id, e164)
    return found


def add_patients(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert many patients (column values as given); their ids in the order given."""
    return insert_rows(session, cast_table(Patient), rows)
