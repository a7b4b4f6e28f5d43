"""The `Idempotency-Key` header on creating requests: the first answer, once per key.

A practice's POST under /api/v1 that carries the header claims the key in its own short
transaction (a unique key on (practice, key), so of two requests at once one wins and the other
waits for the winner's answer). The winner runs, its answer is recorded, then sent. A request
that fails on our side (5xx) releases the key so a retry runs again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textdesk.domain.errors import AppError, Conflict, Unprocessable
from textdesk.idempotency import store
from textdesk.kit.web import AppState, bearer_token, practice_for_token, remember_caller
from textdesk.storage.models import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255
WAIT_FOR_WINNER_SECONDS = 30.0
REPLAYED_HEADER = "idempotent-replayed"
# Creating requests whose answer holds a secret shown once (a webhook endpoint's signing
# secret): never kept readable in the keys table, so the header is not honoured for them.
ANSWERS_HOLD_A_SECRET = frozenset({"/api/v1/webhook-endpoints"})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, error_response: Callable[[AppError], Response]) -> None:
        self.app = app
        self.error_response = error_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        key = headers.get("idempotency-key")
        if (key is None or scope["method"] != "POST" or not scope["path"].startswith("/api/v1/")
                or scope["path"].rstrip("/") in ANSWERS_HOLD_A_SECRET):
            await self.app(scope, receive, send)
            return
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            await self.error_response(Unprocessable(
                "invalid_idempotency_key",
                f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} characters."))(scope, receive, send)
            return
        body = await _read_body(receive)
        replay = _replaying(body, receive)
        state: AppState = scope["app"].state.textdesk
        token = bearer_token(headers.get("authorization", ""))
        practice_id = await run_in_threadpool(_practice_id, state, token)
        if practice_id is None or token is None:  # not a practice's request: the route's 401
            await self.app(scope, replay, send)
            return
        remember_caller(scope, token, practice_id)
        fingerprint = _fingerprint(scope, body)
        owned, row = await run_in_threadpool(_claim, state, practice_id, key, fingerprint)
        if owned:
            await self._run_and_record(state, row.id, scope, replay, send)
        else:
            await self._answer_again(state, row, fingerprint, scope, replay, send)

    async def _run_and_record(self, state: AppState, key_id: int, scope: Scope,
                              receive: Receive, send: Send) -> None:
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, capture)
        except Exception:
            await run_in_threadpool(_release, state, key_id)
            raise
        status = int(started.get("status", 500))
        response_headers = Headers(raw=started.get("headers", []))
        body = b"".join(chunks)
        if status >= 500:
            await run_in_threadpool(_release, state, key_id)
        else:
            await run_in_threadpool(_record, state, key_id, status,
                                    response_headers.get("content-type"), body)
        await send(started)
        await send({"type": "http.response.body", "body": body})

    async def _answer_again(self, state: AppState, row: IdempotencyKey, fingerprint: str,
                            scope: Scope, receive: Receive, send: Send) -> None:
        if row.fingerprint != fingerprint:
            response = self.error_response(Unprocessable(
                "idempotency_key_reused",
                "This Idempotency-Key was used for a different request; use a new key."))
            await response(scope, receive, send)
            return
        answered = await _wait_for_answer(state, row)
        if answered is None or answered.status_code is None:
            await self.error_response(Conflict(
                "idempotency_key_in_progress",
                "A request with this Idempotency-Key is still running; retry shortly."
            ))(scope, receive, send)
            return
        response = Response(answered.response_body or b"", status_code=answered.status_code,
                            media_type=answered.content_type, headers={REPLAYED_HEADER: "true"})
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the app the body already read, then the client's own events."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _fingerprint(scope: Scope, body: bytes) -> str:
    """The request's identity: method, path, query and body (JSON compared by its content)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(),
                 scope.get("query_string", b""), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _practice_id(state: AppState, token: str | None) -> int | None:
    if token is None:
        return None
    with state.db.read() as session:
        practice = practice_for_token(session, token)
        return practice.id if practice is not None else None


def _claim(state: AppState, practice_id: int, key: str,
           fingerprint: str) -> tuple[bool, IdempotencyKey]:
    now = state.clock.now()
    with state.db.transaction() as session:
        return store.claim(session, practice_id, key, fingerprint, now, now + KEY_LIFETIME)


def _record(state: AppState, key_id: int, status: int, content_type: str | None,
            body: bytes) -> None:
    with state.db.transaction() as session:
        store.record_answer(session, key_id, status, content_type,
                            body.decode("utf-8", "replace"))


def _release(state: AppState, key_id: int) -> None:
    with state.db.transaction() as session:
        store.release(session, key_id)


def _find(state: AppState, key_id: int) -> IdempotencyKey | None:
    with state.db.read() as session:
        return store.find(session, key_id)


async def _wait_for_answer(state: AppState, row: IdempotencyKey) -> IdempotencyKey | None:
    """The key's row once its request has answered; None if it was released or never answers."""
    found: IdempotencyKey | None = row
    waited = 0.0
    while found is not None and found.status_code is None and waited < WAIT_FOR_WINNER_SECONDS:
        await asyncio.sleep(0.05)
        waited += 0.05
        found = await run_in_threadpool(_find, state, row.id)
    return found
