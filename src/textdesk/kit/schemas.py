"""The bounds of the API's input, declared once: ids, text, dates, and loosely checked fields."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Form
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from textdesk.domain import ids
from textdesk.domain.people import EARLIEST_BIRTH_YEAR, is_plausible_birthdate

MAX_ID = ids.MAX_ID  # the one bound of an id (domain/ids.py)
_SURROGATE = re.compile("[\ud800-\udfff]")
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def _id(value: object) -> object:
    """Digits only: `" 1"`, `"+1"`, `"1.0"` or `true` name no row."""
    if isinstance(value, bool):
        raise ValueError("an id is a whole number")
    if isinstance(value, str):
        if not ids.ID_DIGITS.fullmatch(value):
            raise ValueError("an id is written as digits only")
        return int(value)
    return value


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text may not contain a NUL character")
    if _SURROGATE.search(value):
        raise ValueError("text may not contain a lone surrogate")
    return value


def _sane_moment(value: object) -> object:
    """An ISO date-time outside 2000–2100 is refused; other shapes are judged by the service."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            raise ValueError(f"a date between {EARLIEST_YEAR} and {LATEST_YEAR} is expected")
    return value


Id = Annotated[int, BeforeValidator(_id), Field(ge=1, le=MAX_ID, strict=False)]
# An id a page's form sends; 0 (left empty) names no row and the use case says which.
FormId = Annotated[int, Form(ge=0, le=MAX_ID)]


_Clean = AfterValidator(_clean_text)
# Strings sized to their columns (String(n)); free text is bounded well past any real use.
Text20 = Annotated[str, Field(max_length=20), _Clean]
Text40 = Annotated[str, Field(max_length=40), _Clean]
Text64 = Annotated[str, Field(max_length=64), _Clean]
Text100 = Annotated[str, Field(max_length=100), _Clean]
Text200 = Annotated[str, Field(max_length=200), _Clean]
Text2000 = Annotated[str, Field(max_length=2000), _Clean]
Text10k = Annotated[str, Field(max_length=10_000), _Clean]
# A CSV in a JSON body: its own caps (bytes, rows) are the use case's, checked before any
# transaction (413 past its bytes); this is only the outer bound.
MAX_CSV_CHARS = 1_000_000
CsvText = Annotated[str, Field(max_length=MAX_CSV_CHARS), _Clean]


def _plausible_birthdate(value: date) -> date:
    if not is_plausible_birthdate(value, date.today()):
        raise ValueError(f"a date of birth from {EARLIEST_BIRTH_YEAR} to today is expected")
    return value


Birthdate = Annotated[date, Field(description="Date of birth, YYYY-MM-DD"),
                      AfterValidator(_plausible_birthdate)]

def _sane_instant(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"a date between {EARLIEST_YEAR} and {LATEST_YEAR} is expected")
    return value


# A date-time parsed by pydantic (a query filter), within the same sane range.
Instant = Annotated[datetime, AfterValidator(_sane_instant)]

Moment = Annotated[str, Field(max_length=40, description="ISO 8601 date-time"),
                   AfterValidator(_sane_moment), _Clean]


# `Annotated[Any, Documented({...})]`: a value documented by its JSON schema whose wrong shapes
# the use case refuses with its own code (e.g. `invalid_lead`, `invalid_takes_replies`), so
# that those codes stay as they are.
Documented = WithJsonSchema
LooseBool = Annotated[Any, Documented({"type": "boolean"})]
LooseInt = Annotated[Any, Documented({"type": "integer"})]
LooseNumber = Annotated[Any, Documented({"type": "number"})]


def _bounded_if_text(max_length: int) -> AfterValidator:
    def check(value: object) -> object:
        if isinstance(value, str):
            if len(value) > max_length:
                raise ValueError(f"at most {max_length} characters")
            _clean_text(value)
        return value
    return AfterValidator(check)


# Loose text: bounded and clean when it is a string; any other shape is the use case's to refuse.
LooseStr = Annotated[Any, _bounded_if_text(200),
                     Documented({"type": "string", "maxLength": 200})]
LooseText2000 = Annotated[Any, _bounded_if_text(2000),
                          Documented({"type": "string", "maxLength": 2000})]
LooseStrList = Annotated[Any, Documented({"type": "array", "items": {"type": "string"}})]

class Body(BaseModel):
    """A request body: an unknown field is refused (400 `unknown_field`)."""

    model_config = ConfigDict(extra="forbid")

    def given(self) -> dict[str, Any]:
        """The fields the caller sent, as the use cases take them."""
        return self.model_dump(exclude_unset=True, by_alias=True)


class View(BaseModel):
    """A response: the documented fields; anything more the use case adds passes through."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Reason(View):
    code: str
    message: str
    fix: str | None = None


class ErrorBody(View):
    error: str = Field(description="a stable snake_case code")
    message: str
    field: str | None = Field(None, description="the input at fault, when one is")


class SendBlockedBody(View):
    error: str = Field(description='"send_blocked"')
    message: str | None = None
    blockers: list[Reason]


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Bad input (e.g. `unknown_field`)"},
    401: {"model": ErrorBody, "description": "No or unknown bearer token"},
    404: {"model": ErrorBody, "description": "Not found in this practice"},
    409: {"model": ErrorBody, "description": "Conflicts with the current state"},
    413: {"model": ErrorBody, "description": "`payload_too_large`"},
    422: {"model": ErrorBody, "description": "Invalid input: `{error, message, field}`"},
}
SEND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    422: {"model": SendBlockedBody | ErrorBody,
          "description": "`send_blocked` with `blockers`, or invalid input"},
}
