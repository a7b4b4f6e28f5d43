"""The carrier protocol: what the connector needs from any carrier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Accepted:
    """The carrier took the text and gave it an id."""

    sid: str
    status: str  # the carrier's own status word, e.g. "queued"


class CarrierError(Exception):
    """The carrier refused the request; `is_transient` says whether retrying may help.

    `maybe_taken` marks the ambiguous case: the request reached the carrier but its answer
    never came back (a read timeout, a dropped connection), so the carrier may hold the text.
    Sending it again blindly could text the patient twice; it is looked up first (F3).
    """

    def __init__(self, message: str, *, error_code: int | None = None,
                 http_status: int | None = None, is_transient: bool = False,
                 maybe_taken: bool = False) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.http_status = http_status
        self.is_transient = is_transient
        self.maybe_taken = maybe_taken


@dataclass(frozen=True)
class CarrierMessage:
    """A message as the carrier lists it (for reconciling an ambiguous send)."""

    sid: str
    to: str
    from_: str
    body: str
    status: str
    date_created: datetime | None


@dataclass(frozen=True)
class InboundMedia:
    """One file a person sent with a text (MMS): where the carrier keeps it, and its kind as
    the carrier declared it. Fetched later, never while the webhook waits."""

    url: str
    content_type: str


@dataclass(frozen=True)
class InboundText:
    """A text a person sent to one of our numbers, as the carrier's webhook told it."""

    carrier: str
    sid: str
    from_: str  # as the carrier wrote it: E.164, or a short code
    to: str
    body: str
    media: tuple[InboundMedia, ...] = ()
    # STOP / START / HELP when the carrier itself acted on a keyword (Twilio's OptOutType).
    opt_out_type: str | None = None
    # The messaging service the text came in through (Twilio's MessagingServiceSid).
    messaging_service_sid: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    """A carrier's report on a text we sent (a status callback)."""

    carrier: str
    sid: str
    status: str  # the carrier's own status word, lower case
    error_code: int | None


class WebhookRejected(Exception):
    """A verified webhook whose parameters are not the carrier's documented shapes."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Carrier(Protocol):
    name: str

    def send(self, *, from_: str, to: str, body: str, status_callback: str,
             media_urls: Sequence[str] = (),
             messaging_service_sid: str | None = None,
             validity_seconds: int | None = None) -> Accepted:
        """Submit one text (an MMS when `media_urls` are given; through the messaging service
        when given, instead of `from_`; the carrier drops it unsent after
        `validity_seconds`). Raises CarrierError."""
        ...

    def find_sent(self, *, from_: str, to: str, since: datetime) -> list[CarrierMessage]:
        """Texts the carrier holds from `from_` (any sender when empty) to `to` created at or
        after `since`."""
        ...

    def close(self) -> None: ...
