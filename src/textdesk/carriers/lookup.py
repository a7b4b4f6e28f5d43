"""Twilio Lookup v2 line type intelligence: what kind of line a number is, before any text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from textdesk.carriers.base import CarrierError

TWILIO_LOOKUP_BASE_URL = "https://lookups.twilio.com"
LINE_TYPE_FIELD = "line_type_intelligence"
# Twilio's line types; `landline` cannot take texts, VoIP often cannot.
LINE_TYPES = frozenset({"mobile", "landline", "fixedVoip", "nonFixedVoip", "personal",
                        "tollFree", "premium", "sharedCost", "uan", "voicemail", "pager",
                        "unknown"})
VOIP_TYPES = frozenset({"fixedVoip", "nonFixedVoip"})


@dataclass(frozen=True)
class LineType:
    """The carrier's answer for one number."""

    phone_e164: str
    type: str | None  # one of LINE_TYPES; None when the carrier could not tell
    carrier_name: str | None
    valid: bool
    error_code: int | None = None


def parse_lookup(data: dict[str, Any]) -> LineType:
    info = data.get(LINE_TYPE_FIELD) or {}
    kind = info.get("type")
    return LineType(phone_e164=str(data.get("phone_number") or ""),
                    type=kind if kind in LINE_TYPES else None,
                    carrier_name=info.get("carrier_name"),
                    valid=bool(data.get("valid", True)),
                    error_code=info.get("error_code"))


class TwilioLookup:
    """`GET /v2/PhoneNumbers/{E164}?Fields=line_type_intelligence` with the account's key."""

    def __init__(self, account_sid: str, auth_token: str,
                 base_url: str = TWILIO_LOOKUP_BASE_URL, timeout: float = 10.0, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(base_url=self.base_url, auth=(account_sid, auth_token),
                                    timeout=timeout, transport=transport)

    def line_type(self, phone_e164: str) -> LineType:
        """The number's line type. Raises CarrierError (transient on timeouts and 5xx)."""
        path = f"/v2/PhoneNumbers/{quote(phone_e164, safe='')}"
        try:
            response = self._client.get(path, params={"Fields": LINE_TYPE_FIELD})
        except httpx.RequestError as exc:
            raise CarrierError(f"lookup request failed: {type(exc).__name__}",
                               is_transient=True) from exc
        if response.status_code >= 400:
            code = _error_code(response)
            raise CarrierError(f"lookup refused with HTTP {response.status_code}",
                               error_code=code, http_status=response.status_code,
                               is_transient=response.status_code >= 500
                               or response.status_code == 429)
        return parse_lookup(response.json())

    def close(self) -> None:
        self._client.close()


def _error_code(response: httpx.Response) -> int | None:
    try:
        code = response.json().get("code")
    except ValueError:
        return None
    return code if isinstance(code, int) else None
