"""The one place that maps error codes to HTTP statuses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from textdesk.domain.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    SendBlocked,
    Unauthorized,
)

log = logging.getLogger(__name__)

STATUS_BY_TYPE: list[tuple[type[AppError], int]] = [
    (NotFound, 404),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Conflict, 409),
    (SendBlocked, 422),
]


def http_status(error: AppError) -> int:
    for kind, status in STATUS_BY_TYPE:
        if isinstance(error, kind):
            return status
    return 422 if error.code.startswith("invalid") or error.code.endswith("_blocked") else 400


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=http_status(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [{"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg")}
                  for e in exc.errors()]
        return JSONResponse({"error": "invalid_request", "message": "The request is invalid.",
                             "fields": fields}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"error": code, "message": str(exc.detail)},
                            status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error: %s", type(exc).__name__)
        return JSONResponse({"error": "internal_error", "message": "Something went wrong."},
                            status_code=500)
