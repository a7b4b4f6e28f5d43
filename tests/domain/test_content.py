"""What a text says and costs: links, shorteners, GSM 03.38 vs UCS-2, segments (E1, E2)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from textdesk.domain.content import find_links, is_own_domain, is_shortener, non_gsm_characters
from textdesk.domain.segments import (
    GSM_BASIC,
    GSM_EXTENSION,
    MAX_BODY_CHARS,
    PRICE_PER_SEGMENT_USD,
    Encoding,
    count_segments,
    is_gsm7,
)


@pytest.mark.parametrize(("body", "links"), [
    ("See https://example.com/x.", ["https://example.com/x"]),
    ("http://a.b.example.org/p?q=1#f, thanks", ["http://a.b.example.org/p?q=1#f"]),
    ("go to bit.ly/abc!", ["bit.ly/abc"]),
    ("visit www.smile.dental today", ["www.smile.dental"]),
    ("pay at smiles.ca/pay?x=1)", ["smiles.ca/pay?x=1"]),
    ("two: a.com and b.net/x", ["a.com", "b.net/x"]),
    ("mail jane@example.com", []),  # an email address is not a link
    ("Dr.Smith at 3pm", []),
    ("example.community", []),
    ("Call 415.555.0123", []),
    ("e.g. bring your card", []),
    ("No links here.", []),
])
def test_find_links(body: str, links: list[str]) -> None:
    assert find_links(body) == links


@pytest.mark.parametrize(("link", "shortener"), [
    ("bit.ly/abc", True), ("https://tinyurl.com/x", True), ("goo.gl/x", True),
    ("is.gd/x", True), ("t.co/x", True), ("ow.ly/x", True), ("https://www.bit.ly/x", True),
    ("HTTPS://BIT.LY/X", True),
    ("https://example.com", False), ("https://notbit.ly.example.com", False),
    ("https://bitly.example.com", False),
])
def test_public_shorteners(link: str, shortener: bool) -> None:
    assert is_shortener(link) is shortener


@pytest.mark.parametrize(("link", "own", "expected"), [
    ("https://smile.example.com/book", "example.com", True),
    ("https://example.com", "example.com", True),
    ("https://example.com.evil.io", "example.com", False),
    ("https://badexample.com", "example.com", False),
    ("https://example.com", None, False),
])
def test_own_link_domain(link: str, own: str | None, expected: bool) -> None:
    assert is_own_domain(link, own) is expected


# --- GSM 03.38 ------------------------------------------------------------------------------

def test_gsm_basic_set_is_the_real_one() -> None:
    # 128 code points less the escape (0x1B), which is not a character of its own.
    assert len(GSM_BASIC) == 127
    assert len(GSM_EXTENSION) == 10
    for ch in "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà\n\r":
        assert ch in GSM_BASIC
    for ch in "€^{}[]~|\\\f":
        assert ch in GSM_EXTENSION


@pytest.mark.parametrize(("char", "gsm"), [
    ("a", True), ("é", True), ("É", True), ("à", True), ("ç", False), ("á", False),
    ("È", False), ("’", False), ("“", False), ("€", True), ("`", False), ("😀", False),
    ("\t", False), ("–", False),
])
def test_gsm7_membership(char: str, gsm: bool) -> None:
    assert is_gsm7(char) is gsm


@pytest.mark.parametrize(("text", "encoding", "units", "segments"), [
    ("a" * 160, Encoding.GSM7, 160, 1),
    ("a" * 161, Encoding.GSM7, 161, 2),
    ("a" * 306, Encoding.GSM7, 306, 2),
    ("a" * 307, Encoding.GSM7, 307, 3),
    ("€" * 80, Encoding.GSM7, 160, 1),
    ("€" * 81, Encoding.GSM7, 162, 2),
    ("^", Encoding.GSM7, 2, 1),
    # 152 septets then an escaped character: it may not straddle the 153-septet boundary.
    ("a" * 152 + "€" + "a" * 7, Encoding.GSM7, 161, 2),
    ("a" * 152 + "€" + "a" * 152, Encoding.GSM7, 306, 3),
    ("a" * 70, Encoding.GSM7, 70, 1),
    ("a" * 69 + "😀", Encoding.UCS2, 71, 2),
    ("😀", Encoding.UCS2, 2, 1),
    ("a" * 70, Encoding.GSM7, 70, 1),
    ("ç" * 70, Encoding.UCS2, 70, 1),
    ("ç" * 71, Encoding.UCS2, 71, 2),
    ("ç" * 134, Encoding.UCS2, 134, 2),
    ("ç" * 135, Encoding.UCS2, 135, 3),
    # An emoji (a surrogate pair) is never cut across two segments.
    ("ç" * 66 + "😀" + "ç" * 3, Encoding.UCS2, 71, 2),
    ("ç" * 66 + "😀" + "ç" * 66, Encoding.UCS2, 134, 3),
    ("", Encoding.GSM7, 0, 0),
])
def test_segments(text: str, encoding: Encoding, units: int, segments: int) -> None:
    info = count_segments(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, segments)


def test_one_emoji_makes_the_whole_text_ucs2() -> None:
    assert count_segments("a" * 60).segments == 1
    info = count_segments("a" * 60 + "👍" + "a" * 60)
    assert (info.encoding, info.segments) == (Encoding.UCS2, 2)


def test_the_limit_of_a_text_is_1600_characters() -> None:
    assert MAX_BODY_CHARS == 1600
    assert count_segments("a" * 1600).segments == 11


def test_cost_is_the_price_of_each_segment() -> None:
    assert str(PRICE_PER_SEGMENT_USD) == "0.0079"
    assert count_segments("a" * 161).cost() == Decimal("0.0158")
    assert count_segments("hi").cost(Decimal("0.01")) == Decimal("0.01")
    assert count_segments("").cost() == 0


def test_non_gsm_characters_name_what_to_replace() -> None:
    assert non_gsm_characters("Let’s meet – 😀 ok 😀") == ["’", "–", "😀"]
    assert non_gsm_characters("plain") == []
