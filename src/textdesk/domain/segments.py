"""What a text costs: GSM 03.38 vs UCS-2 encoding, segment count and price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

MAX_BODY_CHARS = 1600

# GSM 03.38 basic character set (one septet each).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: an escape septet plus one, so two septets each.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


class Encoding(StrEnum):
    GSM7 = "GSM-7"  # 160 septets in one segment, 153 per segment when split
    UCS2 = "UCS-2"  # 70 UTF-16 code units in one segment, 67 per segment when split


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    characters: int

    def cost(self, price_per_segment: Decimal) -> Decimal:
        return price_per_segment * self.segments


def is_gsm7(text: str) -> bool:
    return all(ch in GSM_BASIC or ch in GSM_EXTENSION for ch in text)


def _gsm_septets(text: str) -> int:
    return sum(2 if ch in GSM_EXTENSION else 1 for ch in text)


def _utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def count_segments(text: str) -> SegmentInfo:
    """Encoding and segment count as a carrier computes them."""
    if is_gsm7(text):
        units, single, multi, enc = _gsm_septets(text), 160, 153, Encoding.GSM7
    else:
        units, single, multi, enc = _utf16_units(text), 70, 67, Encoding.UCS2
    if units == 0:
        segments = 0
    elif units <= single:
        segments = 1
    else:
        segments = -(-units // multi)
    return SegmentInfo(enc, units, segments, len(text))
