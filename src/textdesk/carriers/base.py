"""The carrier protocol: what the connector needs from any carrier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Accepted:
    """The carrier took the text and gave it an id."""

    sid: str
    status: str  # the carrier's own status word, e.g. "queued"


class CarrierError(Exception):
    """The carrier refused the request; `is_transient` says whether retrying may help."""

    def __init__(self, message: str, *, error_code: int | None = None,
                 http_status: int | None = None, is_transient: bool = False) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.http_status = http_status
        self.is_transient = is_transient


@dataclass(frozen=True)
class CarrierMessage:
    """A message as the carrier lists it (for reconciling an ambiguous send)."""

    sid: str
    to: str
    from_: str
    body: str
    status: str
    date_created: datetime | None


class Carrier(Protocol):
    name: str

    def send(self, *, from_: str, to: str, body: str, status_callback: str) -> Accepted:
        """Submit one text. Raises CarrierError."""
        ...

    def find_sent(self, *, from_: str, to: str, since: datetime) -> list[CarrierMessage]:
        """Texts the carrier holds from `from_` to `to` created at or after `since`."""
        ...

    def close(self) -> None: ...
