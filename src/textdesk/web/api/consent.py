"""Consent for staff: a phone's history, flagged revocations, blocked senders, reply-less lines."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from textdesk.domain.consent import FlagStatus
from textdesk.domain.errors import Invalid
from textdesk.services import consent as consent_service
from textdesk.services import senders
from textdesk.storage import consent as consent_store
from textdesk.storage import flags as flag_store
from textdesk.storage import messages as message_store
from textdesk.storage.flags import RevocationFlag
from textdesk.storage.models import Conversation
from textdesk.web.api.views import consent_event_view, iso, number_view
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1", tags=["consent"])


class FlagDecision(BaseModel):
    actor: str | None = None
    note: str | None = None


class Sender(BaseModel):
    phone: str


def flag_view(session: Any, flag: RevocationFlag, now: Any) -> dict[str, Any]:
    message = message_store.get_message(session, flag.practice_id, flag.message_id)
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


@router.get("/consent")
def get_phone_consent(phone: str, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    """The consent of one phone, whoever holds it: patients, a lead, or nobody known yet."""
    e164 = senders.sender_key(practice, phone)
    status = consent_store.current_status(session, practice.id, e164)
    return {"phone": e164, "state": status.state.value, "marketing": status.marketing,
            "history": [consent_event_view(e)
                        for e in consent_store.history(session, practice.id, e164)]}


@router.get("/consent-flags")
def get_flags(practice: PracticeDep, session: SessionDep, app: StateDep,
              status: str = "open") -> list[dict[str, Any]]:
    """Flagged free-text revocations, the soonest due first (`status=all` for every one)."""
    if status != "all" and status not in {s.value for s in FlagStatus}:
        raise Invalid("invalid_flag_status", "Unknown flag status.",
                      statuses=["all", *(s.value for s in FlagStatus)])
    now = app.clock.now()
    return [flag_view(session, f, now)
            for f in flag_store.list_flags(session, practice.id,
                                           None if status == "all" else status)]


@router.post("/consent-flags/{flag_id}/confirm")
def confirm_flag(flag_id: int, practice: PracticeDep, session: SessionDep, app: StateDep,
                 body: FlagDecision | None = None) -> dict[str, Any]:
    now = app.clock.now()
    flag = consent_service.confirm_flag(session, practice.id, flag_id, now,
                                        body.actor if body else None)
    return flag_view(session, flag, now)


@router.post("/consent-flags/{flag_id}/dismiss")
def dismiss_flag(flag_id: int, practice: PracticeDep, session: SessionDep, app: StateDep,
                 body: FlagDecision | None = None) -> dict[str, Any]:
    now = app.clock.now()
    flag = consent_service.dismiss_flag(session, practice.id, flag_id, now,
                                        body.actor if body else None, body.note if body else None)
    return flag_view(session, flag, now)


@router.get("/senders/blocked")
def get_blocked(practice: PracticeDep, session: SessionDep) -> list[dict[str, Any]]:
    return [sender_view(c) for c in senders.blocked_senders(session, practice)]


@router.post("/senders/block")
def block_sender(body: Sender, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> dict[str, Any]:
    return sender_view(senders.set_blocked(session, practice, body.phone, True, app.clock.now()))


@router.post("/senders/unblock")
def unblock_sender(body: Sender, practice: PracticeDep, session: SessionDep,
                   app: StateDep) -> dict[str, Any]:
    return sender_view(senders.set_blocked(session, practice, body.phone, False,
                                           app.clock.now()))


@router.patch("/numbers/{number_id}")
def patch_number(number_id: int, changes: dict[str, Any], practice: PracticeDep,
                 session: SessionDep) -> dict[str, Any]:
    """`{takes_replies: false}` marks a line nobody reads (G5)."""
    return number_view(senders.update_number(session, practice, number_id, changes))
