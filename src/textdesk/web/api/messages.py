"""Texts: send (queued for the connector), test texts, and each text's status and why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.orm import Session

from textdesk.domain.errors import Invalid, NotFound, SendBlocked
from textdesk.domain.messages import MessageKind
from textdesk.services import diagnostics
from textdesk.services.messaging import Queued, cancel, send_test, send_text
from textdesk.services.recipients import patient_recipient
from textdesk.storage import messages as message_store
from textdesk.web.api.views import message_view
from textdesk.web.deps import PracticeDep, SessionDep, StateDep

router = APIRouter(prefix="/api/v1", tags=["messages"])


class NewMessage(BaseModel):
    patient_id: int | None = None
    lead_id: int | None = None
    body: str


class TestText(BaseModel):
    to: str | None = None
    clinic_id: int | None = None


@contextmanager
def keeping_refusal(session: Session) -> Iterator[None]:
    """A refused send fails the request, yet its record is kept for reports: commit it first.

    Nothing else is written before the refusal (judging only reads), so this commits exactly
    the refused-attempt row (docs/decisions/0030-refused-sends-are-kept.md).
    """
    try:
        yield
    except SendBlocked:
        session.commit()
        raise


def queued_view(queued: Queued) -> dict[str, Any]:
    m, v = queued.message, queued.verdict
    return {"id": m.id, "status": m.status, "holds": [r.as_dict() for r in v.holds],
            "warnings": [r.as_dict() for r in v.warnings], "segments": m.segments,
            "encoding": m.encoding, "cost_usd": float(m.cost_usd)}


@router.post("/messages", status_code=201)
def post_message(body: NewMessage, practice: PracticeDep, session: SessionDep,
                 app: StateDep) -> dict[str, Any]:
    if (body.patient_id is None) == (body.lead_id is None):
        raise Invalid("invalid_recipient", "Give exactly one of patient_id or lead_id.")
    if body.patient_id is not None:
        recipient = patient_recipient(session, practice.id, body.patient_id)
    else:
        from textdesk.services.leads import lead_recipient

        recipient = lead_recipient(session, practice.id, body.lead_id or 0)
    with keeping_refusal(session):
        queued = send_text(session, recipient, body.body, now=app.clock.now(),
                           kind=MessageKind.MANUAL, actor="api")
    if recipient.lead_id is not None:  # texting a lead is activity; a new lead is contacted
        from textdesk.services.leads import note_texted

        note_texted(session, practice.id, recipient.lead_id, app.clock.now())
    return queued_view(queued)


@router.post("/messages/test", status_code=201)
def post_test(body: TestText, practice: PracticeDep, session: SessionDep,
              app: StateDep) -> dict[str, Any]:
    with keeping_refusal(session):
        queued = send_test(session, practice, body.to, body.clinic_id, app.clock.now())
    return queued_view(queued)


@router.get("/messages/{message_id}")
def get_message(message_id: int, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    message = message_store.get_message(session, practice.id, message_id)
    if message is None:
        raise NotFound("message_not_found", "No such message.")
    why = diagnostics.explain_message(session, message, app.clock.now())
    view = message_view(message, holds=why["holds"], history=why["history"],
                        failure=why["failure"])
    # H2 beyond holds and failure: what will cancel a waiting text, and why one was canceled.
    return {**view, "blockers": why["blockers"], "cancellation": why["cancellation"]}


@router.post("/messages/{message_id}/cancel")
def cancel_message(message_id: int, practice: PracticeDep, session: SessionDep,
                   app: StateDep) -> dict[str, Any]:
    message = message_store.get_message(session, practice.id, message_id)
    if message is None:
        raise NotFound("message_not_found", "No such message.")
    if not cancel(session, message, "staff_canceled", app.clock.now()):
        raise Invalid("not_cancelable", f"A {message.status} text cannot be canceled.")
    return message_view(message)
