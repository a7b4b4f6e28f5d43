"""Twilio's wire formats as the simulator writes them: sids, dates, errors, resources."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from fastapi.responses import JSONResponse

from textdesk.carriers.twilio import API_VERSION

MAX_BODY_CHARS = 1600
MAX_MEDIA = 10
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")

# Twilio's documented magic numbers: each one fails a create with this error code.
TEST_TO_ERRORS: dict[str, int] = {
    "+15005550001": 21211,  # invalid number
    "+15005550002": 21612,  # cannot route to this number
    "+15005550003": 21408,  # no international permissions
    "+15005550004": 21610,  # number is blocked (opted out)
    "+15005550009": 21614,  # number incapable of receiving SMS
}
TEST_FROM_ERRORS: dict[str, int] = {
    "+15005550001": 21212,  # invalid From number
    "+15005550007": 21606,  # From number not owned by the account
    "+15005550008": 21611,  # From number's queue is full
}

ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number is not a valid phone number.",
    21212: "The 'From' number is not a valid phone number, shortcode, or alphanumeric "
           "sender ID.",
    21266: "'To' and 'From' number cannot be the same.",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the "
           "'To' number.",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided is not a valid, message-capable Twilio phone "
           "number for this destination/account.",
    21610: "Attempt to send to unsubscribed recipient",
    21611: "This 'From' number has exceeded the maximum number of queued messages",
    21612: "The 'To' phone number is not currently reachable using the 'From' phone number "
           "via SMS.",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    11200: "HTTP retrieval failure",
    21623: "Number of media files exceeds allowed limit",
    21701: "The Messaging Service does not exist",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
}

INJECTED_FAILURE_CODES: dict[int, int] = {429: 20429, 503: 20503}


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped sid: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


def rfc2822(moment: datetime | None) -> str | None:
    """Twilio's date format: "Thu, 30 Jul 2015 20:12:31 +0000"."""
    return format_datetime(moment) if moment is not None else None


def error_body(code: int, http_status: int, message: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message or ERROR_MESSAGES.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": http_status}


def error_response(code: int, http_status: int = 400, message: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, http_status, message), status_code=http_status)


def injected_failure(http_status: int) -> JSONResponse:
    """The answer of a carrier having a bad moment (5xx) or throttling (429)."""
    code = INJECTED_FAILURE_CODES.get(http_status, 20500)
    return error_response(code, http_status)


def refusal_code(form: Mapping[str, Any]) -> int | None:
    """The error code Twilio answers a create with, or None when it would accept it."""
    to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
    has_sender = bool(from_ or form.get("MessagingServiceSid"))
    media = media_urls_of(form)
    checks: list[tuple[bool, int]] = [
        (not to, 21604),
        (not has_sender, 21603),
        (not body and not media, 21602),
        (len(media) > MAX_MEDIA, 21623),
        (len(body) > MAX_BODY_CHARS, 21617),
        (from_ in TEST_FROM_ERRORS, TEST_FROM_ERRORS.get(from_, 0)),
        (bool(from_) and not _is_sender(from_), 21212),
        (to in TEST_TO_ERRORS, TEST_TO_ERRORS.get(to, 0)),
        (not _E164.match(to), 21211),
        (to == from_, 21266),
    ]
    return next((code for failed, code in checks if failed), None)


def media_urls_of(form: Mapping[str, Any]) -> list[str]:
    """The create form's `MediaUrl` values (the parameter is repeated, one per file)."""
    value = form.get("MediaUrl")
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _is_sender(from_: str) -> bool:
    """A phone number, a short code (5–6 digits) or an alphanumeric sender id."""
    return bool(_E164.match(from_) or re.fullmatch(r"\d{5,6}", from_)
                or re.fullmatch(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}", from_))


@dataclass
class SimMedia:
    """One file a simulated patient sent: served at its Twilio-shaped URL, behind basic auth."""

    sid: str  # ME + 32 hex
    content_type: str
    data: bytes


@dataclass
class SimMessage:
    """One text the simulated carrier holds."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    direction: str  # outbound-api | inbound
    status: str
    num_segments: int
    date_created: datetime
    monotonic: float  # arrival, for pacing measurements
    status_callback: str | None = None
    date_sent: datetime | None = None
    date_updated: datetime | None = None
    error_code: int | None = None
    media_urls: list[str] = field(default_factory=list)  # outbound: the MediaUrl it was given
    media: list[SimMedia] = field(default_factory=list)  # inbound: the files the patient sent
    media_fetches: list[dict[str, Any]] = field(default_factory=list)  # fetch_media results
    messaging_service_sid: str | None = None
    validity_period: int | None = None  # ValidityPeriod, seconds, as the create gave it

    def resource_uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"

    def as_resource(self) -> dict[str, Any]:
        """Twilio's Message resource JSON."""
        return {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": self.body,
            "date_created": rfc2822(self.date_created), "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated or self.date_created),
            "direction": self.direction, "error_code": self.error_code,
            "error_message": ERROR_MESSAGES.get(self.error_code) if self.error_code else None,
            "from": self.from_, "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls) or len(self.media)),
            "num_segments": str(self.num_segments), "price": None, "price_unit": "USD",
            "sid": self.sid, "status": self.status,
            "subresource_uris": {"media": self.resource_uri() + "/Media.json"},
            "to": self.to, "uri": self.resource_uri() + ".json",
        }

    def as_log_entry(self) -> dict[str, Any]:
        """The simulator's own view, with the arrival time to the microsecond."""
        return {
            "sid": self.sid, "to": self.to, "from": self.from_, "body": self.body,
            "at": self.date_created.isoformat(timespec="microseconds"),
            "monotonic": self.monotonic, "status": self.status, "error_code": self.error_code,
            "num_segments": self.num_segments, "direction": self.direction,
            "media_urls": list(self.media_urls), "media_fetches": list(self.media_fetches),
            "messaging_service_sid": self.messaging_service_sid,
            "validity_period": self.validity_period,
        }


def callback_params(message: SimMessage, status: str, error_code: int | None) -> dict[str, str]:
    """The form Twilio POSTs to a StatusCallback URL."""
    params = {
        "MessageSid": message.sid, "SmsSid": message.sid, "AccountSid": message.account_sid,
        "From": message.from_, "To": message.to, "MessageStatus": status, "SmsStatus": status,
        "ApiVersion": API_VERSION,
    }
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    return params


def inbound_params(message: SimMessage, from_country: str, to_country: str,
                   media_base_url: str = "", opt_out_type: str | None = None
                   ) -> dict[str, str]:
    """The form Twilio POSTs to a number's incoming-message webhook (with OptOutType when the
    carrier acted on a keyword itself, MessagingServiceSid when the number is in a service)."""
    extra = {"OptOutType": opt_out_type} if opt_out_type else {}
    if message.messaging_service_sid:
        extra["MessagingServiceSid"] = message.messaging_service_sid
    params = {**extra,
        "MessageSid": message.sid, "SmsSid": message.sid, "SmsMessageSid": message.sid,
        "AccountSid": message.account_sid, "From": message.from_, "To": message.to,
        "Body": message.body, "NumMedia": str(len(message.media)),
        "NumSegments": str(message.num_segments),
        "SmsStatus": "received", "FromCountry": from_country, "FromState": "",
        "FromCity": "", "FromZip": "", "ToCountry": to_country, "ToState": "", "ToCity": "",
        "ToZip": "", "ApiVersion": API_VERSION,
    }
    for n, item in enumerate(message.media):
        params[f"MediaUrl{n}"] = media_url(media_base_url, message, item)
        params[f"MediaContentType{n}"] = item.content_type
    return params


def media_path(account_sid: str, message_sid: str, media_sid: str) -> str:
    """Where Twilio keeps a received file (its Media resource, answered with the bytes)."""
    return f"/{API_VERSION}/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}"


def media_url(base_url: str, message: SimMessage, item: SimMedia) -> str:
    return base_url.rstrip("/") + media_path(message.account_sid, message.sid, item.sid)
