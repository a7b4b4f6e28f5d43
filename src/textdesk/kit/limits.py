"""The request body cap: a body past `max_body_bytes` gets 413 `payload_too_large`, unread.

It is the outermost middleware, so that nothing (the idempotency key's middleware reads the
whole body to fingerprint it) reads more than the cap of a body before it is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1_000_000
UPLOAD_FORM_ALLOWANCE = 64_000  # a multipart form's boundaries and fields around its file


def _too_large_body(limit: int) -> bytes:
    return json.dumps({"error": "payload_too_large", "field": None,
                       "message": f"The request body is over {limit} bytes."}).encode()


class BodyTooLarge(HTTPException):
    """A streamed body went past the limit while it was being read."""


class BodyLimit:
    """Refuses on the declared Content-Length first, and counts a streamed body as it comes.

    Paths matching `upload_paths` (a file upload) take up to `upload_max_bytes` instead.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, upload_paths: Sequence[str] = (),
                 upload_max_bytes: int | None = None) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.upload_paths = [re.compile(p) for p in upload_paths]
        self.upload_max_bytes = max(upload_max_bytes or max_bytes, max_bytes)

    def _limit(self, path: str) -> int:
        if any(p.match(path) for p in self.upload_paths):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(str(scope.get("path", "")))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:  # the app's HTTP error handler answers it with 413
                    raise BodyTooLarge(413, f"The request body is over {limit} bytes.")
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Read by a middleware outside the app's error handlers (the idempotency key
            # reads the body first): answered here, as a 413 all the same.
            if started:
                raise
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = _too_large_body(limit)
        headers: list[Any] = [(b"content-type", b"application/json"),
                              (b"content-length", str(len(body)).encode()),
                              (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
