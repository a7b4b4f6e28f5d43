"""Consent use cases: record opt-ins and opt-outs, and what an opt-out does at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource, ConsentStatus
from textdesk.domain.errors import Invalid
from textdesk.storage import consent as consent_store
from textdesk.storage import messages as message_store
from textdesk.storage.models import ConsentEvent


def record(session: Session, practice_id: int, e164: str, action: ConsentAction,
           scope: ConsentScope, source: ConsentSource | str, *, now: datetime,
           actor: str | None = None, note: str | None = None,
           evidence_message_id: int | None = None, patient_id: int | None = None,
           lead_id: int | None = None) -> ConsentStatus:
    """Append one consent event; an opt-out of all texts cancels what still waits to the phone."""
    status = consent_store.append_event(session, ConsentEvent(
        practice_id=practice_id, phone_e164=e164, patient_id=patient_id, lead_id=lead_id,
        action=action.value, scope=scope.value, source=str(source), actor=actor, note=note,
        evidence_message_id=evidence_message_id, at=now))
    if action is ConsentAction.OPT_OUT and scope is ConsentScope.ALL:
        cancel_pending_to(session, practice_id, e164, now)
    return status


def cancel_pending_to(session: Session, practice_id: int, e164: str, now: datetime) -> int:
    from textdesk.services.messaging import cancel

    canceled = 0
    for message in message_store.pending_to_phone(session, practice_id, e164):
        if message.kind in ("system", "test"):
            continue
        canceled += cancel(session, message, "opted_out", now, source="consent")
    return canceled


def parse_request(action: str, scope: str, source: str) -> tuple[ConsentAction, ConsentScope,
                                                                  ConsentSource]:
    try:
        return ConsentAction(action), ConsentScope(scope or "all"), ConsentSource(source)
    except ValueError as exc:
        raise Invalid("invalid_consent", str(exc),
                      actions=[a.value for a in ConsentAction],
                      scopes=[s.value for s in ConsentScope],
                      sources=[s.value for s in ConsentSource]) from exc

