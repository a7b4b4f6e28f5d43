"""What a file of a text is (from its bytes), how big it may be, and what an MMS costs and
occupies of a number's pace."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from textdesk.carriers.simulator.samples import PDF, png
from textdesk.domain.consent import ConsentState, ConsentStatus
from textdesk.domain.eligibility import NumberFacts, SendContext, evaluate
from textdesk.domain.errors import Unprocessable
from textdesk.domain.media import (
    MEDIA_ERRORS,
    check_media,
    fetch_failure_sentence,
    normalize_content_type,
    sniff_type,
)
from textdesk.domain.pacing import pace_units
from textdesk.domain.segments import (
    PRICE_PER_MMS_USD,
    PRICE_PER_SEGMENT_USD,
    billed_segments,
    count_segments,
    text_cost,
)

PNG = png()
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
GIF = b"GIF89a" + b"\x00" * 20
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20


@pytest.mark.parametrize(("data", "kind"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (b"GIF87a....", "image/gif"),
    (WEBP, "image/webp"), (PDF, "application/pdf"),
    (b"<html><body>hi</body></html>", None), (b"RIFF\x00\x00\x00\x00WAVE", None),
    (b"MZ\x90\x00", None), (b"", None),
])
def test_the_bytes_say_what_a_file_is(data: bytes, kind: str | None) -> None:
    assert sniff_type(data[:16]) == kind


@pytest.mark.parametrize(("declared", "expected"), [
    ("image/png", "image/png"), ("IMAGE/PNG; charset=binary", "image/png"),
    ("application/octet-stream", "image/png"), (None, "image/png"), ("", "image/png"),
])
def test_a_png_is_taken_under_any_declaration_that_agrees(declared: str | None,
                                                           expected: str) -> None:
    checked = check_media(PNG, declared)
    assert (checked.content_type, checked.size, checked.is_image) == (expected, len(PNG), True)


@pytest.mark.parametrize(("data", "declared", "code"), [
    (b"<html>not a picture</html>", "image/png", "media_type_not_allowed"),
    (b"<html>not a picture</html>", None, "media_type_not_allowed"),
    (PNG, "image/jpeg", "media_type_mismatch"),  # the header lies about the bytes
    (PDF, "image/png", "media_type_mismatch"),
    (b"", "image/png", "media_empty"),
    (PNG + b"\x00" * 2000, "image/png", "media_too_large"),
])
def test_refusals_have_stable_codes(data: bytes, declared: str | None, code: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        check_media(data, declared, max_bytes=1000)
    assert refused.value.code == code


def test_the_size_cap_is_inclusive() -> None:
    assert check_media(PNG, "image/png", max_bytes=len(PNG)).size == len(PNG)


def test_content_type_aliases_fold() -> None:
    assert normalize_content_type("image/jpg") == "image/jpeg"
    assert normalize_content_type(" Application/PDF ") == "application/pdf"


def test_a_picture_not_kept_says_it_could_not_be_fetched_and_why() -> None:
    assert fetch_failure_sentence("media_too_large").startswith(
        "The picture could not be fetched: the file is larger than 5 MB")
    assert fetch_failure_sentence(None) == ("The picture could not be fetched: "
                                            + MEDIA_ERRORS["media_fetch_failed"][0].lower()
                                            + MEDIA_ERRORS["media_fetch_failed"][1:])


def test_an_mms_is_one_part_at_the_mms_price_whatever_its_body() -> None:
    long_unicode = count_segments("😀" * 200)  # 7 segments as SMS (33 emoji a segment)
    assert (billed_segments(long_unicode), text_cost(long_unicode)) == (
        7, PRICE_PER_SEGMENT_USD * 7)
    assert (billed_segments(long_unicode, 1), text_cost(long_unicode, 1)) == (
        1, PRICE_PER_MMS_USD)
    assert text_cost(count_segments(""), 2) == Decimal("0.0200")


@pytest.mark.parametrize(("kind", "segments", "has_media", "units"), [
    ("local", 3, False, 3), ("local", 3, True, 1), ("toll_free", 1, True, 1),
    ("short_code", 1, True, 3),  # 100 SMS parts/s but 40 MMS/s: an MMS is worth 2.5 → 3
    ("short_code", 2, False, 2), ("unknown_kind", 4, True, 1),
])
def test_an_mms_occupies_the_number_at_its_mms_rate(kind: str, segments: int,
                                                    has_media: bool, units: int) -> None:
    assert pace_units(kind, segments, has_media) == units


NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
READY = SendContext(now=NOW, sms_enabled=True, number=NumberFacts("local", "active", "approved"),
                    phone_raw="(415) 555-0123",
                    consent=ConsentStatus(ConsentState.OPTED_IN, False, NOW, "verbal"), body="")


def test_a_picture_alone_is_a_text_but_an_empty_text_is_not() -> None:
    assert evaluate(READY).codes == ["body_empty"]
    assert evaluate(replace(READY, media_count=1)).codes == []


def test_an_mms_has_no_segment_or_alphabet_warnings() -> None:
    body = "Your X-ray 😀 " * 20
    assert {"multi_segment", "unicode_characters"} <= set(
        evaluate(replace(READY, body=body)).codes)
    assert evaluate(replace(READY, body=body, media_count=1)).codes == []
