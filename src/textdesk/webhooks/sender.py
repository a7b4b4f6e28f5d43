"""One signed POST of one delivery to its receiver (Standard Webhooks: `webhook-id`,
`webhook-timestamp`, `webhook-signature`), with a short timeout; the answer's body is never
kept (a short one is read off the connection, so that the connection carries the next one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from math import floor

import httpx
from standardwebhooks import Webhook

from textdesk import __version__


@dataclass(frozen=True)
class Attempt:
    """What a claim hands the sender: the delivery, its receiver and the attempt's token."""

    delivery_id: int
    owner: str  # this attempt's claim token; its outcome is written only while it holds
    endpoint_id: int
    url: str
    secret: str | None  # the whsec_ secret, unsealed; None when it cannot be read
    event_id: str
    payload: str
    attempts: int  # including this one


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None  # "HTTP 503", "timeout after 5 s", … (never the answer's body)


ANSWER_READ_BYTES = 64 * 1024  # a short answer is read (its connection is kept); never more


def _drain(answer: httpx.Response) -> None:
    """Read and drop a short answer so the connection can carry the next delivery."""
    taken = 0
    for chunk in answer.iter_raw():
        taken += len(chunk)
        if taken > ANSWER_READ_BYTES:
            return


def signed_headers(secret: str, event_id: str, payload: str, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt signed at `at`."""
    at = at.astimezone(UTC)
    return {"webhook-id": event_id, "webhook-timestamp": str(floor(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, at, payload)}


class Sender:
    """POSTs deliveries; thread-safe (one httpx client with a connection pool)."""

    def __init__(self, timeout_seconds: float, client: httpx.Client | None = None) -> None:
        self.timeout_seconds = timeout_seconds
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_seconds), follow_redirects=False,
            headers={"user-agent": f"textdesk-webhooks/{__version__}"})

    def post(self, attempt: Attempt) -> Outcome:
        if attempt.secret is None:
            return Outcome(None, "the signing secret cannot be read with this "
                                 "TEXTDESK_SECRET_KEY")
        # The signature's time is the wall clock of this request: the receiver checks it
        # against its own clock to refuse replays, whatever clock schedules the attempts.
        headers = signed_headers(attempt.secret, attempt.event_id, attempt.payload,
                                 datetime.now(UTC))
        headers["content-type"] = "application/json"
        try:
            with self.client.stream("POST", attempt.url, content=attempt.payload.encode(),
                                    headers=headers) as answer:
                code = answer.status_code
                _drain(answer)
        except httpx.TimeoutException:
            return Outcome(None, f"timeout after {self.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return Outcome(None, f"could not reach the receiver ({type(exc).__name__})")
        return Outcome(code, None if 200 <= code < 300 else f"HTTP {code}")

    def close(self) -> None:
        self.client.close()
