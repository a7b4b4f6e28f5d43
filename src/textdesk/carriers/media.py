"""Fetching a patient's picture from the carrier: Twilio's media URLs take the account's
HTTP basic credentials (when media URL authentication is on) and answer with a redirect to
the file. The fetch is bounded in time and size; the bytes are checked by the caller."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from textdesk.carriers.base import CarrierError

_MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str  # as the server declared it ("" when it did not)


class MediaTooLarge(CarrierError):
    """The file is past the size cap: not read further, never kept."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class MediaFetcher:
    """GET a media URL with the account's credentials, but only on the carrier's own origin.

    The credentials go to the carrier's API host (`base_url`) and nowhere else: the redirect
    Twilio answers with points at a storage host that needs none, and httpx drops the
    Authorization header when a redirect leaves the origin.
    """

    def __init__(self, account_sid: str, auth_token: str, base_url: str,
                 timeout: float = 10.0, *, transport: httpx.BaseTransport | None = None) -> None:
        self._auth = (account_sid, auth_token)
        self._origin = _origin(base_url)
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True,
                                    max_redirects=_MAX_REDIRECTS)

    def fetch(self, url: str, max_bytes: int) -> Fetched:
        """The file's bytes. Raises MediaTooLarge past `max_bytes`, CarrierError otherwise
        (transient for timeouts, 429 and 5xx)."""
        auth = self._auth if _origin(url) == self._origin else None
        try:
            with self._client.stream("GET", url, auth=auth) as response:
                if response.status_code >= 400:
                    raise CarrierError(f"media fetch answered HTTP {response.status_code}",
                                       http_status=response.status_code,
                                       is_transient=response.status_code >= 500
                                       or response.status_code == 429)
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaTooLarge("media is larger than the cap")
                chunks: list[bytes] = []
                seen = 0
                for chunk in response.iter_bytes():
                    seen += len(chunk)
                    if seen > max_bytes:
                        raise MediaTooLarge("media is larger than the cap")
                    chunks.append(chunk)
                return Fetched(b"".join(chunks), response.headers.get("content-type", ""))
        except httpx.TooManyRedirects as exc:
            raise CarrierError("media fetch redirected too often") from exc
        except httpx.RequestError as exc:
            raise CarrierError(f"media fetch failed ({type(exc).__name__})",
                               is_transient=True) from exc

    def close(self) -> None:
        self._client.close()
