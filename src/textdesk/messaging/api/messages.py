"""Texts: send (queued for the connector), test texts, and each text's status and why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import Field
from sqlalchemy.orm import Session

from textdesk.domain.errors import AppError, Invalid, NotFound, SendBlocked, Unprocessable
from textdesk.domain.messages import MessageKind
from textdesk.kit.schemas import SEND_ERRORS, Body, Id, Reason, Text10k, Text40, View
from textdesk.kit.web import PracticeDep, PracticeIdDep, SessionDep, StateDep, api_router
from textdesk.leads.service import lead_recipient, note_texted
from textdesk.media import service as media
from textdesk.messaging.api.views import MessageOut, message_view
from textdesk.messaging.recipients import (
    Recipient,
    judge,
    judge_many,
    patient_recipient,
    patient_recipients,
)
from textdesk.messaging.service import (
    Accepted,
    Queued,
    cancel,
    send_test,
    send_text,
    send_texts,
)
from textdesk.messaging.store import messages as message_store
from textdesk.practice import diagnostics
from textdesk.storage import directory as practice_store

router = api_router(tags=["messages"])


class NewMessage(Body):
    patient_id: Id | None = None
    lead_id: Id | None = None
    body: Text10k = ""
    media: list[Id] = Field(default_factory=list, max_length=10,
                            description="ids from POST /api/v1/media: the text goes as an MMS")


class TestText(Body):
    to: Text40 | None = None
    clinic_id: Id | None = None


class QueuedOut(View):
    id: int
    status: str
    num_media: int = 0
    holds: list[Reason]
    warnings: list[Reason]
    segments: int
    encoding: str
    cost_usd: float


class MessageWhy(MessageOut):
    blockers: list[Reason]
    cancellation: Reason | None = None


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
    return {"id": m.id, "status": m.status, "num_media": m.num_media,
            "holds": [r.as_dict() for r in v.holds],
            "warnings": [r.as_dict() for r in v.warnings], "segments": m.segments,
            "encoding": m.encoding, "cost_usd": float(m.cost_usd)}


@router.post("/messages", status_code=201, response_model=QueuedOut, responses=SEND_ERRORS)
def post_message(body: NewMessage, practice_id: PracticeIdDep, app: StateDep) -> dict[str, Any]:
    if (body.patient_id is None) == (body.lead_id is None):
        raise Invalid("invalid_recipient", "Give exactly one of patient_id or lead_id.")
    now = app.clock.now()
    # Judged in a read-only transaction (on SQLite it neither takes nor waits for the write
    # lock), then written in a short one, in this thread from its first statement to its
    # commit: the write lock is never held while rules run or across a hop to another
    # worker thread (decision 0187).
    with app.db.read() as reading:
        if body.patient_id is not None:
            recipient = patient_recipient(reading, practice_id, body.patient_id)
        else:
            recipient = lead_recipient(reading, practice_id, body.lead_id or 0)
        judged = judge(reading, recipient, now=now, body=body.body, kind=MessageKind.MANUAL,
                       media_count=len(body.media))
    with app.db.transaction() as session:
        with keeping_refusal(session):
            queued = send_text(session, recipient, body.body, now=now, kind=MessageKind.MANUAL,
                               actor="api", media_ids=body.media,
                               judged=judged)
        if recipient.lead_id is not None:  # texting a lead is activity; a new lead is contacted
            note_texted(session, practice_id, recipient.lead_id, now)
        return queued_view(queued)


MAX_BATCH = 1000


class NewMessages(Body):
    messages: list[NewMessage]


class BatchItemOut(View):
    """A queued text (`id`, `status`, …) or that item's error (`error`, `message`, and for
    `send_blocked` its `blockers`)."""

    id: int | None = None
    status: str | None = None
    num_media: int | None = None
    holds: list[Reason] | None = None
    warnings: list[Reason] | None = None
    segments: int | None = None
    encoding: str | None = None
    cost_usd: float | None = None
    error: str | None = None
    message: str | None = None
    blockers: list[Reason] | None = None


class BatchOut(View):
    results: list[BatchItemOut]


@router.post("/messages/batch", response_model=BatchOut, responses=SEND_ERRORS)
def post_messages(body: NewMessages, practice_id: PracticeIdDep,
                  app: StateDep) -> dict[str, Any]:
    """Up to 1,000 texts in one request and one transaction, each judged by the same rules
    as `POST /messages`; each result, in the order given, is the text queued or its error."""
    if not body.messages:
        raise Unprocessable("batch_empty", "Give at least one text in `messages`.")
    if len(body.messages) > MAX_BATCH:
        raise Unprocessable("batch_too_large",
                            f"A batch holds at most {MAX_BATCH:,} texts; split it.",
                            limit=MAX_BATCH)
    now = app.clock.now()
    with app.db.read() as reading:  # resolved and judged without the write lock (0187)
        practice = practice_store.get_practice(reading, practice_id)
        assert practice is not None  # the token named it
        results: list[dict[str, Any] | None] = []
        texts = _recipients(reading, practice_id, body.messages, results)
        judged = judge_many(reading, practice, texts, now=now)
    with app.db.transaction() as session:
        sent = send_texts(session, practice, texts, now=now, actor="api", judged=judged)
        texted = {r.lead_id for (r, _), done in zip(texts, sent, strict=True)
                  if r.lead_id is not None and isinstance(done, Accepted)}
        for lead_id in sorted(texted):  # activity; a new lead is now contacted
            note_texted(session, practice_id, lead_id, now)
        views = iter(sent)
        return {"results": [item if item is not None else _batch_view(next(views))
                            for item in results]}


def _recipients(session: Session, practice_id: int, items: list[NewMessage],
                results: list[dict[str, Any] | None]) -> list[tuple[Recipient, str]]:
    """Each item's recipient, or its error in `results` (None where a text will be)."""
    patients = patient_recipients(session, practice_id, {
        i.patient_id for i in items if i.patient_id is not None and i.lead_id is None})
    texts: list[tuple[Recipient, str]] = []
    for item in items:
        try:
            if (item.patient_id is None) == (item.lead_id is None):
                raise Invalid("invalid_recipient", "Give exactly one of patient_id or lead_id.")
            if item.media:
                raise Invalid("media_not_in_batch", "A text with files is sent on its own: "
                              "use POST /api/v1/messages.", field="media")
            if item.patient_id is not None:
                recipient = patients.get(item.patient_id)
                if recipient is None:
                    raise NotFound("patient_not_found", "No such patient.")
            else:
                recipient = lead_recipient(session, practice_id, item.lead_id or 0)
        except AppError as error:
            results.append(error.as_dict())
            continue
        results.append(None)
        texts.append((recipient, item.body))
    return texts


def _batch_view(result: Accepted | SendBlocked) -> dict[str, Any]:
    if isinstance(result, SendBlocked):
        return result.as_dict()
    v = result.verdict
    return {"id": result.id, "status": result.status, "num_media": 0,
            "holds": [r.as_dict() for r in v.holds],
            "warnings": [r.as_dict() for r in v.warnings], "segments": result.segments,
            "encoding": result.encoding, "cost_usd": float(result.cost_usd)}


@router.post("/messages/test", status_code=201, response_model=QueuedOut,
             responses=SEND_ERRORS)
def post_test(body: TestText, practice: PracticeDep, session: SessionDep,
              app: StateDep) -> dict[str, Any]:
    with keeping_refusal(session):
        queued = send_test(session, practice, body.to, body.clinic_id, app.clock.now())
    return queued_view(queued)


@router.get("/messages/{message_id}", response_model=MessageWhy)
def get_message(message_id: Id, practice: PracticeDep, session: SessionDep,
                app: StateDep) -> dict[str, Any]:
    message = message_store.get_message(session, practice.id, message_id)
    if message is None:
        raise NotFound("message_not_found", "No such message.")
    why = diagnostics.explain_message(session, message, app.clock.now())
    view = message_view(message, holds=why["holds"], history=why["history"],
                        failure=why["failure"],
                        media=media.views_of(session, [message.id]).get(message.id))
    # H2 beyond holds and failure: what will cancel a waiting text, and why one was canceled.
    return {**view, "blockers": why["blockers"], "cancellation": why["cancellation"]}


@router.post("/messages/{message_id}/cancel", response_model=MessageOut)
def cancel_message(message_id: Id, practice: PracticeDep, session: SessionDep,
                   app: StateDep) -> dict[str, Any]:
    message = message_store.get_message(session, practice.id, message_id)
    if message is None:
        raise NotFound("message_not_found", "No such message.")
    if not cancel(session, message, "staff_canceled", app.clock.now()):
        raise Invalid("not_cancelable", f"A {message.status} text cannot be canceled.")
    return message_view(message, media=media.views_of(session, [message.id]).get(message.id))
