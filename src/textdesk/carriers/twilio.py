"""Twilio's REST protocol for texts (send, list) and its webhook signatures."""

from __future__ import annotations

import asyncio
import base64
import hmac
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode, urlparse

import aiohttp
import httpx
from twilio.request_validator import RequestValidator, add_port, remove_port

from textdesk.carriers.base import (
    Accepted,
    CarrierError,
    CarrierMessage,
    InboundMedia,
    InboundText,
    StatusUpdate,
    WebhookRejected,
)

API_VERSION = "2010-04-01"
TWILIO_BASE_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"
RATE_LIMIT_CODE = 20429
_MAX_PAGES = 20
_PHONE_LIKE = re.compile(r"\+?\d[\d ().-]{5,}\d")


CARRIER_NAME = "twilio"

# -- webhook parameters: Twilio's documented shapes ---------------------------------------------
# Sids are two letters and 32 hex digits (SM/MM for messages); phones are E.164 or short codes;
# error codes are Twilio's five-digit numbers; a body is at most 1,600 characters.
_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_MESSAGING_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_ADDRESS = re.compile(r"^\+?[0-9]{3,15}$")
_ERROR_CODE = re.compile(r"^[0-9]{1,6}$")
MAX_BODY = 1600
MAX_MEDIA = 10  # Twilio's NumMedia is 0-10
MAX_MEDIA_URL = 1000
_MEDIA_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[\x21-\x7e]*$")
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$", re.IGNORECASE)
# Twilio's `ValidityPeriod`: seconds a text may wait in its queue, 1 to 36,000 (the default).
MAX_VALIDITY_SECONDS = 36_000
# `OptOutType` on an inbound webhook (Advanced Opt-Out): the carrier acted on a keyword.
OPT_OUT_TYPES = frozenset({"STOP", "START", "HELP"})
# The keywords Twilio answers on long codes and toll-free numbers by default, whole body,
# case and surrounding spaces ignored (it then blocks texts after a STOP until a START).
DEFAULT_KEYWORDS: dict[str, str] = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), "STOP"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "START"),
    **dict.fromkeys(("HELP", "INFO"), "HELP"),
}
MESSAGE_STATUSES = frozenset({
    "accepted", "scheduled", "canceled", "queued", "sending", "sent", "failed", "delivered",
    "undelivered", "receiving", "received", "read", "partially_delivered"})


# -- parameter names (docs/decisions/0141-webhook-parameter-names.md) -------------------------
# Twilio's signature joins the sorted names and values with no separator, so a signed
# `Body=STOPDx` verifies again as `Body=STOP` + `D=x`. A name must be one Twilio documents, one
# of its numbered families, or read like a name Twilio would add (two or more capitalised words,
# as every multi-word name it has added is): a piece carved out of a value is refused.
DOCUMENTED_NAMES = frozenset({
    # every message webhook
    "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "MessagingServiceSid", "From", "To",
    "Body", "NumMedia", "NumSegments", "ApiVersion", "SmsStatus",
    # where the numbers are
    "FromCity", "FromState", "FromZip", "FromCountry", "ToCity", "ToState", "ToZip", "ToCountry",
    # opt-out management, WhatsApp, RCS and other channels
    "OptOutType", "ReferralNumMedia", "ProfileName", "WaId", "Forwarded", "FrequentlyForwarded",
    "ButtonText", "ButtonPayload", "ButtonType", "Latitude", "Longitude", "Address", "Label",
    "ReferralBody", "ReferralHeadline", "ReferralSourceId", "ReferralSourceType",
    "ReferralSourceUrl", "ReferralMediaId", "ReferralMediaContentType", "ReferralMediaUrl",
    "ReferralCtwaClid", "OriginalRepliedMessageSender", "OriginalRepliedMessageSid",
    "MessageType", "ListId", "ListTitle", "AddOns", "ChannelMetadata",
    # status callbacks
    "MessageStatus", "ErrorCode", "ErrorMessage", "ChannelToAddress", "ChannelPrefix",
    "ChannelInstallSid", "StructuredMessage", "RawDlrDoneDate", "EventType",
})
_NUMBERED_NAME = re.compile(r"^(MediaUrl|MediaContentType)(0|[1-9][0-9]?)$")
_TWILIO_STYLE_NAME = re.compile(r"^[A-Z][a-z]+(?:[A-Z][a-z]+){1,7}$")
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_NAME = 64
MAX_PARAMETERS = 100


def is_twilio_parameter_name(name: str) -> bool:
    """Documented, numbered (`MediaUrl0`), or Twilio-style (`CarrierNetworkCode`); not `D`."""
    return len(name) <= MAX_NAME and (name in DOCUMENTED_NAMES
                                      or bool(_NUMBERED_NAME.fullmatch(name))
                                      or bool(_TWILIO_STYLE_NAME.fullmatch(name)))


def _clean(params: Mapping[str, str]) -> None:
    if any("\x00" in key or "\x00" in value for key, value in params.items()):
        raise WebhookRejected("invalid_webhook_parameter", "A parameter holds a NUL character.")
    if any(_SURROGATE.search(key) or _SURROGATE.search(value) for key, value in params.items()):
        raise WebhookRejected("invalid_webhook_parameter", "A parameter is not valid text.")
    if len(params) > MAX_PARAMETERS:
        raise WebhookRejected("too_many_webhook_parameters",
                              f"More than {MAX_PARAMETERS} parameters.")
    # The name itself is never echoed or logged: it may be a piece of a patient's text.
    if not all(is_twilio_parameter_name(name) for name in params):
        raise WebhookRejected("unknown_webhook_parameter",
                              "A parameter name is none of Twilio's documented names or patterns.")


def inbound_sid(params: Mapping[str, str]) -> str:
    """The inbound text's MessageSid, checked; what makes a later request a duplicate."""
    return _sid(params, "MessageSid", "SmsMessageSid", "SmsSid")


def _sid(params: Mapping[str, str], *names: str) -> str:
    sid = next((params[n] for n in names if params.get(n)), "")
    if not _MESSAGE_SID.fullmatch(sid):
        raise WebhookRejected("invalid_message_sid", "MessageSid is not a Twilio message sid.")
    return sid


def _address(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not _ADDRESS.fullmatch(value):
        raise WebhookRejected("invalid_address", f"{name} is not a phone number or short code.")
    return value


def is_messaging_service_sid(value: str | None) -> bool:
    """MG and 32 hex digits: a Twilio Messaging Service."""
    return bool(value and _MESSAGING_SERVICE_SID.match(value))


def default_keyword_type(body: str | None) -> str | None:
    """STOP / START / HELP when Twilio's default handling answers this body itself."""
    return DEFAULT_KEYWORDS.get((body or "").strip().upper())


def _messaging_service(params: Mapping[str, str]) -> str | None:
    value = params.get("MessagingServiceSid") or ""
    if value and not is_messaging_service_sid(value):
        raise WebhookRejected("invalid_messaging_service_sid",
                              "MessagingServiceSid is not a Twilio messaging service sid.")
    return value or None


def _opt_out_type(params: Mapping[str, str]) -> str | None:
    value = (params.get("OptOutType") or "").strip().upper()
    if value and value not in OPT_OUT_TYPES:
        raise WebhookRejected("invalid_opt_out_type", "OptOutType is not STOP, START or HELP.")
    return value or None


def parse_inbound(params: Mapping[str, str]) -> InboundText:
    """An inbound-message webhook's parameters, checked against Twilio's shapes."""
    _clean(params)
    body = params.get("Body", "")
    if len(body) > MAX_BODY:
        raise WebhookRejected("invalid_body", f"Body is longer than {MAX_BODY} characters.")
    return InboundText(carrier=CARRIER_NAME,
                       sid=inbound_sid(params),
                       from_=_address(params, "From"), to=_address(params, "To"), body=body,
                       media=_inbound_media(params),
                       opt_out_type=_opt_out_type(params),
                       messaging_service_sid=_messaging_service(params))


def _inbound_media(params: Mapping[str, str]) -> tuple[InboundMedia, ...]:
    """`NumMedia` files, each `MediaUrl{n}` (http or https, bounded) and `MediaContentType{n}`."""
    raw = params.get("NumMedia", "0").strip() or "0"
    if not raw.isdigit() or int(raw) > MAX_MEDIA:
        raise WebhookRejected("invalid_num_media", f"NumMedia is not a number from 0 to "
                                                   f"{MAX_MEDIA}.")
    found: list[InboundMedia] = []
    for n in range(int(raw)):
        url = params.get(f"MediaUrl{n}", "").strip()
        if len(url) > MAX_MEDIA_URL or not _MEDIA_URL.match(url):
            raise WebhookRejected("invalid_media_url", f"MediaUrl{n} is not an http(s) URL.")
        kind = params.get(f"MediaContentType{n}", "").strip()
        if kind and (len(kind) > 100 or not _CONTENT_TYPE.match(kind)):
            raise WebhookRejected("invalid_media_content_type",
                                  f"MediaContentType{n} is not a content type.")
        found.append(InboundMedia(url=url, content_type=kind.lower()))
    return tuple(found)


def parse_status(params: Mapping[str, str]) -> StatusUpdate:
    """A status callback's parameters, checked against Twilio's shapes."""
    _clean(params)
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if status not in MESSAGE_STATUSES:
        raise WebhookRejected("invalid_message_status", "MessageStatus is not a Twilio status.")
    raw_code = params.get("ErrorCode") or ""
    if raw_code and not _ERROR_CODE.fullmatch(raw_code):
        raise WebhookRejected("invalid_error_code", "ErrorCode is not a Twilio error code.")
    _messaging_service(params)  # a callback through a messaging service names it; checked
    return StatusUpdate(carrier=CARRIER_NAME, sid=_sid(params, "MessageSid", "SmsSid"),
                        status=status, error_code=int(raw_code) if raw_code else None)


# -- webhook signatures ---------------------------------------------------------------------

def sign(auth_token: str, url: str, params: Mapping[str, Any] | None) -> str:
    """The `X-Twilio-Signature` Twilio sends for a POST of `params` to `url`."""
    return str(RequestValidator(auth_token).compute_signature(url, params or {}))


def is_valid_signature(auth_token: str, url: str, params: Mapping[str, Any] | None,
                       signature: str | None) -> bool:
    """Whether `signature` signs `url` + `params`, compared in constant time.

    Like Twilio's own validator, the URL is tried with and without its default port,
    because Twilio is not consistent about including it.
    """
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    given = signature.encode("utf-8")
    parsed = urlparse(url)
    is_valid = False
    for candidate in (remove_port(parsed), add_port(parsed)):
        expected = validator.compute_signature(candidate, params or {}).encode("utf-8")
        is_valid |= hmac.compare_digest(expected, given)
    return is_valid


def public_webhook_url(public_url: str, path: str, query: str | bytes | None = None) -> str:
    """The URL Twilio called: the public base URL + the request's path + its query string.

    Behind a proxy the URL the app sees differs from the one Twilio signed, so webhooks
    validate against this instead of the request's own URL.
    """
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    url = public_url.rstrip("/") + "/" + path.lstrip("/")
    return f"{url}?{query}" if query else url


# -- parsing Twilio's answers ---------------------------------------------------------------

def parse_twilio_date(value: str | None) -> datetime | None:
    """An RFC 2822 date as Twilio writes it ("Thu, 30 Jul 2015 20:12:31 +0000"), in UTC."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_accepted(data: Mapping[str, Any]) -> Accepted:
    """Twilio's Message resource, as answered to a create, into `Accepted`."""
    sid, status = data.get("sid"), data.get("status")
    if not isinstance(sid, str) or not sid or not isinstance(status, str):
        raise CarrierError("Twilio's answer has no message sid", is_transient=True)
    return Accepted(sid=sid, status=status)


def parse_message(data: Mapping[str, Any]) -> CarrierMessage:
    """One Message resource into a `CarrierMessage`."""
    return CarrierMessage(
        sid=str(data.get("sid") or ""), to=str(data.get("to") or ""),
        from_=str(data.get("from") or ""), body=str(data.get("body") or ""),
        status=str(data.get("status") or ""),
        date_created=parse_twilio_date(data.get("date_created")))


def error_from_response(response: httpx.Response) -> CarrierError:
    """Twilio's error JSON (`code`, `message`, `more_info`, `status`) into a CarrierError."""
    data = _json_or_empty(response)
    code = data.get("code")
    error_code = code if isinstance(code, int) else _int_or_none(code)
    status = response.status_code
    is_transient = status >= 500 or status == 429 or error_code == RATE_LIMIT_CODE
    detail = _PHONE_LIKE.sub("[number]", str(data.get("message") or response.reason_phrase))
    label = f"Twilio error {error_code}" if error_code else "Twilio error"
    return CarrierError(f"{label} (HTTP {status}): {detail}", error_code=error_code,
                        http_status=status, is_transient=is_transient)


def _json_or_empty(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- the carrier ----------------------------------------------------------------------------

def validity_period(seconds: float | None) -> str | None:
    """`ValidityPeriod` for a text that may wait `seconds`: 1 to 36,000, omitted beyond (the
    carrier's default is its maximum) or when the text has no expiry."""
    if seconds is None or seconds > MAX_VALIDITY_SECONDS:
        return None
    return str(max(int(seconds), 1))


def message_form(*, from_: str, to: str, body: str, status_callback: str,
                 media_urls: Sequence[str] = (), messaging_service_sid: str | None = None,
                 validity_seconds: float | None = None) -> dict[str, str | list[str]]:
    """The one place a Twilio Messages create form is built (every send path uses it).

    A text sent through a messaging service names the service instead of `From` (Twilio
    picks the sender from the service's pool, sticky per recipient). Each of `media_urls` is
    one `MediaUrl` parameter (Twilio takes the name repeated, up to 10): a URL Twilio fetches
    the file from when it sends the MMS.
    """
    form: dict[str, str | list[str]] = {"To": to, "Body": body}
    if messaging_service_sid:
        form["MessagingServiceSid"] = messaging_service_sid
    else:
        form["From"] = from_
    if status_callback:
        form["StatusCallback"] = status_callback
    if media_urls:
        form["MediaUrl"] = list(media_urls)
    validity = validity_period(validity_seconds)
    if validity is not None:
        form["ValidityPeriod"] = validity
    return form


def _multi_form(form: Mapping[str, str | list[str]]) -> list[tuple[str, str]]:
    """A form as name-value pairs, a repeated name (MediaUrl) once per value."""
    return [(name, item) for name, value in form.items()
            for item in (value if isinstance(value, list) else [value])]


_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}

# Failures before the request left this machine: the carrier cannot have taken the text.
_NEVER_REACHED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,
                  httpx.UnsupportedProtocol)


class TwilioCarrier:
    """The Carrier protocol over Twilio's REST API (or the simulator, which speaks it)."""

    name = CARRIER_NAME

    def __init__(self, account_sid: str, auth_token: str, base_url: str = TWILIO_BASE_URL,
                 timeout: float = 10.0, *, transport: httpx.BaseTransport | None = None) -> None:
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        self._client_options: dict[str, Any] = {
            "base_url": self.base_url, "auth": (account_sid, auth_token), "timeout": timeout,
            "headers": {"Accept": "application/json"}}
        self._client = httpx.Client(transport=transport, **self._client_options)
        # The in-flight windows' clients: keep-alive connections on each connector's event
        # loop, made there on its first send (a client belongs to the loop that made it).
        self._async_clients: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}
        self._timeout = timeout
        self._basic_auth = "Basic " + base64.b64encode(
            f"{account_sid}:{auth_token}".encode()).decode()
        self.sends_async = transport is None

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def send(self, *, from_: str, to: str, body: str, status_callback: str,
             media_urls: Sequence[str] = (), messaging_service_sid: str | None = None,
             validity_seconds: int | None = None) -> Accepted:
        form = message_form(from_=from_, to=to, body=body, status_callback=status_callback,
                            media_urls=media_urls, messaging_service_sid=messaging_service_sid,
                            validity_seconds=validity_seconds)
        response = self._request("POST", self.messages_path, data=form)
        return parse_accepted(_json_or_empty(response))

    async def send_async(self, *, from_: str, to: str, body: str, status_callback: str,
                         media_urls: Sequence[str] = (),
                         messaging_service_sid: str | None = None,
                         validity_seconds: int | None = None,
                         connections: int = 200) -> Accepted:
        """`send` on the running event loop: one of up to `connections` concurrent creates
        on keep-alive connections (the connector's in-flight window). aiohttp's pool stays
        cheap with hundreds of connections, where httpx's scans every connection per request."""
        form = message_form(from_=from_, to=to, body=body, status_callback=status_callback,
                            media_urls=media_urls, messaging_service_sid=messaging_service_sid,
                            validity_seconds=validity_seconds)
        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = aiohttp.ClientSession(
                headers={"Accept": "application/json",
                                        "Authorization": self._basic_auth},
                connector=aiohttp.TCPConnector(limit=connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout))
        try:
            # Encoded here: aiohttp's FormData builds a multipart writer (and a random
            # boundary) for every request first, 12% of a busy connector's time.
            async with client.post(self.base_url + self.messages_path,
                                   data=urlencode(_multi_form(form)).encode(),
                                   headers=_FORM_HEADERS) as answer:
                response = httpx.Response(answer.status, content=await answer.read(),
                                          headers={"Content-Type": answer.content_type})
        except aiohttp.ClientConnectorError as exc:
            raise CarrierError(f"Twilio is unreachable ({type(exc).__name__})",
                               is_transient=True) from exc
        except TimeoutError as exc:
            raise CarrierError(f"Twilio did not answer in time ({type(exc).__name__})",
                               is_transient=True, maybe_taken=True) from exc
        except aiohttp.ClientError as exc:
            raise CarrierError(f"Twilio's answer was lost ({type(exc).__name__})",
                               is_transient=True, maybe_taken=True) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return parse_accepted(_json_or_empty(response))

    async def aclose(self) -> None:
        """Close this event loop's in-flight connections (on the loop that made them)."""
        client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def find_sent(self, *, from_: str, to: str, since: datetime) -> list[CarrierMessage]:
        since = _as_utc(since)
        first: dict[str, str] = {
            "To": to, "DateSent>=": since.date().isoformat(), "PageSize": "100"}
        if from_:
            first["From"] = from_
        params: dict[str, str] | None = first
        path: str | None = self.messages_path
        found: list[CarrierMessage] = []
        for _ in range(_MAX_PAGES):
            if path is None:
                break
            page = _json_or_empty(self._request("GET", path, params=params))
            found.extend(parse_message(item) for item in page.get("messages") or [])
            path, params = page.get("next_page_uri") or None, None
        return [m for m in found if m.date_created is None or m.date_created >= since]

    def fetch(self, sid: str) -> CarrierMessage:
        """One message by its sid."""
        path = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        return parse_message(_json_or_empty(self._request("GET", path)))

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with _carrier_errors(method):
            response = self._client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_from_response(response)
        return response


@contextmanager
def _carrier_errors(method: str) -> Iterator[None]:
    """A transport failure as the CarrierError it is: never reached, or maybe taken (a POST
    whose answer was lost may have created the text)."""
    try:
        yield
    except _NEVER_REACHED as exc:
        raise CarrierError(f"Twilio is unreachable ({type(exc).__name__})",
                           is_transient=True) from exc
    except httpx.TimeoutException as exc:
        raise CarrierError(f"Twilio did not answer in time ({type(exc).__name__})",
                           is_transient=True, maybe_taken=method == "POST") from exc
    except httpx.RequestError as exc:
        raise CarrierError(f"Twilio's answer was lost ({type(exc).__name__})",
                           is_transient=True, maybe_taken=method == "POST") from exc
