"""Consent for staff: a phone's history, flagged revocations, blocked senders, reply-less lines."""

from __future__ import annotations

from typing import Any

from textdesk.consent import senders, service as consent_service
from textdesk.consent.store import consent as consent_store, flags as flag_store
from textdesk.domain.consent import FlagStatus
from textdesk.domain.errors import Invalid
from textdesk.kit.schemas import Body, Id, Text20, Text40, Text200, Text2000, View
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.messaging import service as messaging
from textdesk.messaging.api.views import (
    ConsentOut,
    consent_event_view,
    iso,
)
from textdesk.storage.models import Conversation, RevocationFlag

router = api_router(tags=["consent"])


class FlagDecision(Body):
    actor: Text200 | None = None
    note: Text2000 | None = None


class Sender(Body):
    phone: Text40


class PhoneConsentOut(ConsentOut):
    phone: str


class FlagOut(View):
    id: int
    phone: str
    status: str
    conversation_id: int | None = None
    message_id: int | None = None
    body: str | None = None
    patient_id: int | None = None
    lead_id: int | None = None
    due_at: str | None = None
    is_overdue: bool
    created_at: str | None = None
    resolved_at: str | None = None
    resolved_by: str | None = None
    note: str | None = None


class SenderOut(View):
    phone: str
    conversation_id: int
    is_blocked: bool


def flag_view(session: Any, flag: RevocationFlag, now: Any) -> dict[str, Any]:
    message = messaging.get_message(session, flag.practice_id, flag.message_id)
    return {"id": flag.id, "phone": flag.phone_e164, "status": flag.status,
            "conversation_id": flag.conversation_id, "message_id": flag.message_id,
            "body": message.body if message else None, "patient_id": flag.patient_id,
            "lead_id": flag.lead_id, "due_at": iso(flag.due_at),
            "is_overdue": flag.status == FlagStatus.OPEN and flag.due_at < now,
            "created_at": iso(flag.created_at), "resolved_at": iso(flag.resolved_at),
            "resolved_by": flag.resolved_by, "note": flag.note}


def sender_view(conversation: Conversation) -> dict[str, Any]:
    return {"phone": conversation.phone_e164, "conversation_id": conversation.id,
            "is_blocked": conversation.is_blocked}


@router.get("/consent", response_model=PhoneConsentOut)
def get_phone_consent(phone: Text40, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    """The consent of one phone, whoever holds it: patients, a lead, or nobody known yet."""
    e164 = senders.sender_key(practice, phone)
    status = consent_store.current_status(session, practice.id, e164)
    return {"phone": e164, "state": status.state.value, "marketing": status.marketing,
            "history": [consent_event_view(e)
                        for e in consent_store.history(session, practice.id, e164)]}


@router.get("/consent-flags", response_model=list[FlagOut])
def get_flags(practice: PracticeDep, session: SessionDep, app: StateDep,
              status: Text20 = "open") -> list[dict[str, Any]]:
    """Flagged free-text revocations, the soonest due first (`status=all` for every one)."""
    if status != "all" and status not in {s.value for s in FlagStatus}:
        raise Invalid("invalid_flag_status", "Unknown flag status.",
                      statuses=["all", *(s.value for s in FlagStatus)])
    now = app.clock.now()
    return [flag_view(session, f, now)
            for f in flag_store.list_flags(session, practice.id,
                                           None if status == "all" else status)]


@router.post("/consent-flags/{flag_id}/confirm", response_model=FlagOut)
def confirm_flag(flag_id: Id, practice: PracticeDep, session: SessionDep, app: StateDep,
                 body: FlagDecision | None = None) -> dict[str, Any]:
    now = app.clock.now()
    flag = consent_service.confirm_flag(session, practice.id, flag_id, now,
                                        body.actor if body else None)
    return flag_view(session, flag, now)


@router.post("/consent-flags/{flag_id}/dismiss", response_model=FlagOut)
def dismiss_flag(flag_id: Id, practice: PracticeDep, session: SessionDep, app: StateDep,
                 body: FlagDecision | None = None) -> dict[str, Any]:
    now = app.clock.now()
    flag = consent_service.dismiss_flag(session, practice.id, flag_id, now,
                                        body.actor if body else None, body.note if body else None)
    return flag_view(session, flag, now)


@router.get("/senders/blocked", response_model=list[SenderOut])
def get_blocked(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [sender_view(c) for c in senders.blocked_senders(session, practice)]


@router.post("/senders/block", response_model=SenderOut)
def block_sender(body: Sender, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> dict[str, Any]:
    return sender_view(senders.set_blocked(session, practice, body.phone, True, app.clock.now()))


@router.post("/senders/unblock", response_model=SenderOut)
def unblock_sender(body: Sender, practice: PracticeDep, session: SessionDep,
                   app: StateDep) -> dict[str, Any]:
    return sender_view(senders.set_blocked(session, practice, body.phone, False,
                                           app.clock.now()))


