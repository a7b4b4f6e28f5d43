"""The write-back outbox: what the practice system must learn, queued in the same transaction
as the event that caused it (a text sent or received, a confirmation, a consent change).

Called from the places those events happen; each call does nothing for a practice with no
connected system, or for a patient or appointment the system does not know. Each event is
queued once (a unique source key), however often its code runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.integrations import WriteBackKind, WriteBackStatus
from textdesk.integrations import store
from textdesk.integrations.base import TextOk
from textdesk.storage.models import Appointment, Commlog, WriteBackItem


def systems_of(session: Session, practice_ids: Iterable[int]) -> Mapping[int, str]:
    """The system each practice writes back to, loaded once for a batch of events."""
    return store.enabled_systems(session, practice_ids)


def after_commlog(session: Session, commlog: Commlog, now: datetime,
                  systems: Mapping[int, str] | None = None) -> None:
    """F4 in the practice system: the text goes on the patient's chart there too. `systems`
    (from `systems_of`) may be given when a batch loaded them."""
    system = (store.enabled_system(session, commlog.practice_id) if systems is None
              else systems.get(commlog.practice_id))
    if system is None:
        return
    record = store.record_of_local(session, commlog.practice_id, system, "patient",
                                   commlog.patient_id)
    if record is None:
        return
    _queue(session, commlog.practice_id, system, WriteBackKind.COMMLOG,
           f"commlog:{commlog.message_id}:{commlog.patient_id}",
           {"patient_external_id": record.external_id, "note": commlog.note,
            "at": commlog.at.isoformat(), "is_inbound": commlog.direction == "inbound"}, now)


def after_confirmation(session: Session, appointment: Appointment, now: datetime) -> None:
    """G3 in the practice system: the appointment shows Confirmed there."""
    system = store.enabled_system(session, appointment.practice_id)
    if system is None:
        return
    record = store.record_of_local(session, appointment.practice_id, system, "appointment",
                                   appointment.id)
    if record is None:
        return
    _queue(session, appointment.practice_id, system, WriteBackKind.CONFIRMATION,
           f"confirm:{appointment.id}", {"appointment_external_id": record.external_id}, now)


def after_consent(session: Session, practice_id: int, e164: str, action: ConsentAction,
                  scope: ConsentScope, source: ConsentSource | str, event_id: int | None,
                  now: datetime) -> None:
    """Text OK = No on an opt-out of all texts, Yes on an opt-in, for each of the system's
    patients with the phone. What the system itself told us is not echoed back."""
    if scope is not ConsentScope.ALL or str(source) == ConsentSource.PRACTICE_SYSTEM.value:
        return
    system = store.enabled_system(session, practice_id)
    if system is None:
        return
    text_ok = TextOk.NO if action is ConsentAction.OPT_OUT else TextOk.YES
    for patient_id, external_id in store.mapped_patients_with_phone(session, practice_id,
                                                                    system, e164):
        _queue(session, practice_id, system, WriteBackKind.TEXT_OK,
               f"text_ok:{event_id or now.isoformat()}:{patient_id}",
               {"patient_external_id": external_id, "text_ok": text_ok.value}, now)


def _queue(session: Session, practice_id: int, system: str, kind: WriteBackKind, key: str,
           payload: dict[str, Any], now: datetime) -> None:
    store.add_item(session, WriteBackItem(
        practice_id=practice_id, system=system, kind=kind.value, source_key=key,
        payload=payload, status=WriteBackStatus.PENDING.value, attempts=0,
        next_attempt_at=now, created_at=now))
