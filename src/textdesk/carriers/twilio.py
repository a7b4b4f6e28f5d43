"""Twilio's REST protocol for texts (send, list) and its webhook signatures."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

import httpx
from twilio.request_validator import RequestValidator, add_port, remove_port

from textdesk.carriers.base import Accepted, CarrierError, CarrierMessage

API_VERSION = "2010-04-01"
TWILIO_BASE_URL = "https://api.twilio.com"
SIGNATURE_HEADER = "X-Twilio-Signature"
RATE_LIMIT_CODE = 20429
_MAX_PAGES = 20
_PHONE_LIKE = re.compile(r"\+?\d[\d ().-]{5,}\d")


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

class TwilioCarrier:
    """The Carrier protocol over Twilio's REST API (or the simulator, which speaks it)."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, base_url: str = TWILIO_BASE_URL,
                 timeout: float = 10.0, *, transport: httpx.BaseTransport | None = None) -> None:
        self.account_sid = account_sid
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.base_url, auth=(account_sid, auth_token), timeout=timeout,
            transport=transport, headers={"Accept": "application/json"})

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def send(self, *, from_: str, to: str, body: str, status_callback: str) -> Accepted:
        form = {"To": to, "From": from_, "Body": body}
        if status_callback:
            form["StatusCallback"] = status_callback
        response = self._request("POST", self.messages_path, data=form)
        return parse_accepted(_json_or_empty(response))

    def find_sent(self, *, from_: str, to: str, since: datetime) -> list[CarrierMessage]:
        since = _as_utc(since)
        params: dict[str, str] | None = {
            "To": to, "From": from_, "DateSent>=": since.date().isoformat(), "PageSize": "100"}
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
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise CarrierError(f"Twilio did not answer in time ({type(exc).__name__})",
                               is_transient=True) from exc
        except httpx.RequestError as exc:
            raise CarrierError(f"Twilio is unreachable ({type(exc).__name__})",
                               is_transient=True) from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response
