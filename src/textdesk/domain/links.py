"""Signed, expiring links in automated texts: confirm an appointment, ask for a recall visit.

A token reads `<kind><practice>-<subject>-<expiry day>.<signature>`, e.g.
`c12-3456-20515.5f0c…`: the kind (c: confirm, r: recall), the practice, what it is about (a
confirmation request, a patient), the last valid day (days since 1970-01-01, UTC), and the
first 96 bits of HMAC-SHA256 of everything before the dot under the practice's link key.
Nothing about the patient is in it but an id, and an id alone is worthless without the key.
The format is plain enough that a database can compute the same signature in bulk
(`hmac_pads` gives the two keyed pads HMAC is built from).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

SIGNATURE_HEX = 24
_EPOCH = date(1970, 1, 1)
_TOKEN = re.compile(r"([cr])(\d{1,12})-(\d{1,15})-(\d{1,6})\.([0-9a-f]{24})")
RECALL_VALID_FOR = timedelta(days=30)


class LinkKind(StrEnum):
    CONFIRM = "c"  # confirms one appointment (a confirmation request)
    RECALL = "r"  # opens the page where a patient asks for a visit time


PATHS = {LinkKind.CONFIRM: "c", LinkKind.RECALL: "r"}


class LinkError(ValueError):
    """A link that is malformed, forged or expired; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LinkClaim:
    kind: LinkKind
    practice_id: int
    subject_id: int  # a confirmation request id (confirm) or a patient id (recall)
    last_day: date  # valid through the end of this UTC day

    @property
    def payload(self) -> str:
        return f"{self.kind.value}{self.practice_id}-{self.subject_id}-{day_number(self.last_day)}"


def day_number(day: date) -> int:
    return (day - _EPOCH).days


def last_day_for(valid_until: datetime) -> date:
    return valid_until.astimezone(UTC).date()


def signature(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def sign(key: bytes, claim: LinkClaim) -> str:
    return f"{claim.payload}.{signature(key, claim.payload)}"


def read(token: str) -> LinkClaim:
    """The claim a token makes, not yet verified (its practice tells which key verifies it)."""
    match = _TOKEN.fullmatch(token or "")
    if match is None:
        raise LinkError("link_invalid", "This link is not valid.")
    kind, practice, subject, day, _sig = match.groups()
    return LinkClaim(LinkKind(kind), int(practice), int(subject),
                     _EPOCH + timedelta(days=int(day)))


def verify(key: bytes, token: str, now: datetime) -> LinkClaim:
    """The claim of a genuine, unexpired token; LinkError otherwise."""
    claim = read(token)
    given = token.rsplit(".", 1)[1]
    if not hmac.compare_digest(given, signature(key, claim.payload)):
        raise LinkError("link_invalid", "This link is not valid.")
    if now.astimezone(UTC).date() > claim.last_day:
        raise LinkError("link_expired", "This link has expired.")
    return claim


def url(base: str, kind: LinkKind, token: str) -> str:
    """The link on the practice's link domain (`base` is `https://host` or a bare host)."""
    base = base.rstrip("/")
    if "://" not in base:
        base = "https://" + base
    return f"{base}/{PATHS[kind]}/{token}"


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(key ⊕ ipad, key ⊕ opad): HMAC(key, m) = H(opad_key ‖ H(ipad_key ‖ m))."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)
