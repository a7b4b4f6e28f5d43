"""Errors with stable codes; the web layer maps each code to one HTTP status."""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar


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


class Unprocessable(AppError):
    """Well-formed, but refused as it stands (422), e.g. an idempotency key reused."""

    code = "unprocessable"


class TooLarge(AppError):
    """More than a limit allows (413), e.g. an uploaded CSV past its byte cap."""

    code = "payload_too_large"


class SendBlocked(AppError):
    code = "send_blocked"


E = TypeVar("E", bound=Enum)


def choice(kind: type[E], value: Any, code: str, what: str, listed_as: str) -> E:
    """`value` as a member of `kind`, or Invalid naming the value and every allowed one."""
    try:
        return kind(value)
    except ValueError as exc:
        raise Invalid(code, f"Unknown {what} {value!r}.",
                      **{listed_as: [m.value for m in kind]}) from exc
