"""Which requests are audited, and the middleware that writes one row for each that succeeds.

The table below is the one list of audited actions: an API route (a practice token) or a
page (a signed-in staff member) that reads or changes a patient's data. The row names who,
when, the client's IP, the action, the patient and the subject's id — never a body or phone.
It is written after the route has committed and before its answer leaves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textdesk.audit import store
from textdesk.domain.ids import ID_DIGITS, is_id
from textdesk.kit.cookies import SESSION_COOKIE, read_cookie
from textdesk.kit.web import AppState, bearer_token, practice_for_token, remember_caller
from textdesk.practice.auth import look_up
from textdesk.storage.models import AuditEvent

# (method, path): (action, what names the patient: a path id, or the created message)
AUDITED: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/api/v1/patients/{patient_id}/messages"): ("conversation_opened", "patient"),
    ("GET", "/conversations/{conversation_id}"): ("conversation_opened", "conversation"),
    ("POST", "/api/v1/messages"): ("text_sent", "message"),
    ("POST", "/api/v1/messages/batch"): ("text_sent", "messages"),  # one row per text queued
    ("POST", "/conversations/{conversation_id}/send"): ("text_sent", "conversation"),
    ("POST", "/api/v1/patients/{patient_id}/consent"): ("consent_recorded", "patient"),
    ("POST", "/conversations/{conversation_id}/consent"): ("consent_recorded", "conversation"),
    ("DELETE", "/api/v1/commlogs/{commlog_id}"): ("commlog_deleted", "commlog"),
    ("POST", "/commlogs/{commlog_id}/delete"): ("commlog_deleted", "commlog"),
    ("PATCH", "/api/v1/patients/{patient_id}"): ("patient_edited", "patient"),
}
# A path whose id is not written as one (ID_DIGITS: thousands of digits, which int() refuses)
# names no row: it is not audited, and its route refuses it.
_PATTERNS = [(method, re.compile("^" + re.sub(r"\{(\w+)\}", rf"(?P<\1>{ID_DIGITS.pattern})",
                                             path) + "$"), action, by)
             for (method, path), (action, by) in AUDITED.items()]


@dataclass
class Audited:
    action: str
    by: str
    ids: dict[str, int]
    practice_id: int
    staff: str | None
    patient_id: int | None = None


def match(method: str, path: str) -> tuple[str, str, dict[str, int]] | None:
    for want, pattern, action, by in _PATTERNS:
        found = pattern.match(path)
        if want == method and found:
            return action, by, {k: int(v) for k, v in found.groupdict().items()}
    return None


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = match(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if matched is None:
            await self.app(scope, receive, send)
            return
        state: AppState = scope["app"].state.textdesk
        audited = await run_in_threadpool(_who, state, Request(scope), *matched)
        if audited is None:  # nobody known: the route refuses it
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, keep)
        status = next(m["status"] for m in messages if m["type"] == "http.response.start")
        if _succeeded(scope["method"], scope["path"], status):
            body = b"".join(m.get("body", b"") for m in messages
                            if m["type"] == "http.response.body")
            client = scope.get("client")
            await run_in_threadpool(_write, state, audited, body, client[0] if client else None)
        for message in messages:
            await send(message)


def _succeeded(method: str, path: str, status: int) -> bool:
    if path.startswith("/api/"):
        return 200 <= status < 300
    return status == (200 if method == "GET" else 303)  # a page that redirects did it


def _who(state: AppState, request: Request, action: str, by: str,
         ids: dict[str, int]) -> Audited | None:
    """The practice and staff member behind the request, and the patient known before it runs."""
    now = state.clock.now()
    with state.db.read() as session:  # the route's own transaction settles the sign-in
        token = bearer_token(Headers(scope=request.scope).get("authorization", ""))
        if request.scope["path"].startswith("/api/"):
            practice = practice_for_token(session, token) if token else None
            if practice is None or token is None:
                return None
            remember_caller(request.scope, token, practice.id)
            audited = Audited(action, by, ids, practice.id, None)
        else:
            staff = look_up(session, read_cookie(request, SESSION_COOKIE), now).staff
            if staff is None:
                return None
            audited = Audited(action, by, ids, staff.practice.id, staff.user.email)
        audited.patient_id = _patient_before(session, audited)
        return audited


def _patient_before(session: Session, audited: Audited) -> int | None:
    ids, practice_id = audited.ids, audited.practice_id
    if not all(is_id(value) for value in ids.values()):  # names no row: the route says 404/422
        return None
    if audited.by == "patient":
        return ids["patient_id"]
    if audited.by == "conversation":
        return store.patient_of_conversation(session, practice_id, ids["conversation_id"])
    if audited.by == "commlog":  # looked up before the route deletes it
        return store.patient_of_commlog(session, practice_id, ids["commlog_id"])
    return None


def _write(state: AppState, audited: Audited, body: bytes, ip: str | None) -> None:
    with state.db.transaction() as session:
        patient_id, subject = audited.patient_id, _subject(audited)
        if audited.by == "messages":
            _write_each(session, state, audited, _created_ids(body), ip)
            return
        if audited.by == "message":
            message_id = _created_id(body)
            subject = f"message {message_id}" if message_id else None
            patient_id = (store.patient_of_message(session, audited.practice_id, message_id)
                          if message_id else None)
        store.add(session, AuditEvent(
            practice_id=audited.practice_id, at=state.clock.now(),
            actor_kind="staff" if audited.staff else "token", staff=audited.staff, ip=ip,
            action=audited.action, patient_id=patient_id, subject=subject))


def _write_each(session: Session, state: AppState, audited: Audited, message_ids: list[int],
                ip: str | None) -> None:
    """A batch's rows: one per text it queued, each naming its message and patient."""
    patients = store.patients_of_messages(session, audited.practice_id, message_ids)
    at = state.clock.now()
    store.add_all(session, [AuditEvent(
        practice_id=audited.practice_id, at=at, actor_kind="token", staff=None, ip=ip,
        action=audited.action, patient_id=patients.get(mid), subject=f"message {mid}")
        for mid in message_ids])


def _created_ids(body: bytes) -> list[int]:
    try:
        answer: Any = json.loads(body)
    except ValueError:
        return []
    results = answer.get("results") if isinstance(answer, dict) else None
    return [r["id"] for r in results or [] if isinstance(r, dict) and isinstance(r.get("id"), int)]


def _subject(audited: Audited) -> str | None:
    for name, value in audited.ids.items():
        return f"{name.removesuffix('_id')} {value}"
    return None


def _created_id(body: bytes) -> int | None:
    try:
        answer: Any = json.loads(body)
    except ValueError:
        return None
    value = answer.get("id") if isinstance(answer, dict) else None
    return value if isinstance(value, int) else None
