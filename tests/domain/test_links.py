import hashlib
import hmac
from datetime import UTC, date, datetime

import pytest

from textdesk.domain.links import (
    LinkClaim,
    LinkError,
    LinkKind,
    hmac_pads,
    read,
    sign,
    signature,
    url,
    verify,
)

KEY = b"k" * 32
CLAIM = LinkClaim(LinkKind.CONFIRM, 12, 3456, date(2026, 3, 10))
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_a_signed_token_verifies_and_reads_back() -> None:
    token = sign(KEY, CLAIM)
    assert token.startswith("c12-3456-20522.")
    assert verify(KEY, token, NOW) == CLAIM
    assert read(token) == CLAIM


def tampered(token: str) -> str:
    return token.replace("-3456-", "-3457-")


def flipped(token: str) -> str:
    return token[:-1] + ("1" if token[-1] == "0" else "0")


@pytest.mark.parametrize(("token", "now", "code"), [
    ("", NOW, "link_invalid"),
    ("hello", NOW, "link_invalid"),
    ("c12-3456-20522", NOW, "link_invalid"),
    (tampered(sign(KEY, CLAIM)), NOW, "link_invalid"),
    (sign(b"other key", CLAIM), NOW, "link_invalid"),
    (flipped(sign(KEY, CLAIM)), NOW, "link_invalid"),
    (sign(KEY, CLAIM), datetime(2026, 3, 11, 0, 0, tzinfo=UTC), "link_expired"),
])
def test_bad_tokens_are_refused(token: str, now: datetime, code: str) -> None:
    with pytest.raises(LinkError) as error:
        verify(KEY, token, now)
    assert error.value.code == code


def test_valid_through_its_last_day() -> None:
    assert verify(KEY, sign(KEY, CLAIM), datetime(2026, 3, 10, 23, 59, tzinfo=UTC)) == CLAIM


@pytest.mark.parametrize(("base", "expected"), [
    ("smile.example", "https://smile.example/r/T"),
    ("https://smile.example/", "https://smile.example/r/T"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000/r/T"),
])
def test_url_on_the_link_domain(base: str, expected: str) -> None:
    assert url(base, LinkKind.RECALL, "T") == expected


@pytest.mark.parametrize("key", [b"short", b"x" * 64, b"y" * 100])
def test_pads_rebuild_hmac(key: bytes) -> None:
    """What a database computes from the pads equals the library's HMAC."""
    inner, outer = hmac_pads(key)
    payload = b"r1-2-3"
    built = hashlib.sha256(outer + hashlib.sha256(inner + payload).digest()).hexdigest()
    assert built == hmac.new(key, payload, hashlib.sha256).hexdigest()
    assert built.startswith(signature(key, payload.decode()))
