"""The one place that maps error codes to HTTP statuses."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from textdesk.domain.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    SendBlocked,
    TooLarge,
    Unauthorized,
    Unprocessable,
)

log = logging.getLogger(__name__)

STATUS_BY_TYPE: list[tuple[type[AppError], int]] = [
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (TooLarge, 413),
    (SendBlocked, 422),
    (Unprocessable, 422),
]


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def http_status(error: AppError) -> int:
    for kind, status in STATUS_BY_TYPE:
        if isinstance(error, kind):
            return status
    return 422 if error.code.startswith("invalid") or error.code.endswith("_blocked") else 400


def error_response(error: AppError) -> JSONResponse:
    return JSONResponse(error.as_dict(), status_code=http_status(error))


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        body, status = validation_error(exc.errors())
        return JSONResponse(body, status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "message": str(exc.detail), "field": None},
                            status_code=exc.status_code)


INTERNAL_ERROR = {"error": "internal_error", "message": "Something went wrong.", "field": None}


class UnexpectedErrors:
    """The outermost middleware: an error no handler knows is answered 500 `internal_error`
    and goes no further.

    Starlette's own last handler re-raises after answering, and uvicorn then closes the
    connection: a carrier's pooled client would fail its next request on it, and a burst of
    webhooks would see resets instead of one answer. Here the connection stays open. Only the
    error's type and where it was raised are logged; its message may quote a body or a phone.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:  # noqa: BLE001 - the last line: anything else is answered 500
            log.error("unexpected error %s at %s in %s %s", type(exc).__name__, _raised_at(exc),
                      scope.get("method"), getattr(scope.get("route"), "path", "?"))
            if started:  # half an answer is out: nothing sound can follow it on this connection
                raise
            await JSONResponse(INTERNAL_ERROR, status_code=500)(scope, receive, send)


def _raised_at(exc: BaseException) -> str:
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    if frame is None:
        return "?"
    code = frame.tb_frame.f_code
    return f"{code.co_filename.rsplit('/', 1)[-1]}:{frame.tb_lineno} ({code.co_name})"


def _where(error: dict[str, Any]) -> str:
    loc = [str(p) for p in error.get("loc", ())]
    return ".".join(loc[1:] if len(loc) > 1 and loc[0] in _SOURCES else loc)


_SOURCES = {"body", "path", "query", "header", "cookie"}


def validation_error(errors: Sequence[Any]) -> tuple[dict[str, Any], int]:
    """One shape for all of it, `{error, message, field}`; an unknown field is a 400 as before."""
    unknown = sorted(_where(e) for e in errors if e.get("type") == "extra_forbidden")
    if unknown:
        return ({"error": "unknown_field", "message": f"Unknown field(s): {', '.join(unknown)}.",
                 "field": unknown[0]}, 400)
    fields = [{"field": _where(e), "problem": e.get("msg")} for e in errors]
    first = fields[0] if fields else {"field": None, "problem": "invalid"}
    return ({"error": "invalid_request",
             "message": f"{first['field'] or 'The request'}: {first['problem']}",
             "field": first["field"], "fields": fields}, 422)
