"""Errors with stable codes; the web layer maps each code to one HTTP status."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """A refusal with a stable snake_case code and details for the caller."""

    code = "error"

    def __init__(self, code: str | None = None, message: str | None = None, **details: Any):
        self.code = code or self.code
        self.message = message or self.code.replace("_", " ")
        self.details = details
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class NotFound(AppError):
    code = "not_found"


class Invalid(AppError):
    code = "invalid_request"


class Conflict(AppError):
    code = "conflict"


class Unauthorized(AppError):
    code = "unauthorized"


class Forbidden(AppError):
    code = "forbidden"


class SendBlocked(AppError):
    code = "send_blocked"
