"""What a text costs: GSM 03.38 vs UCS-2 encoding, segment count and price."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

MAX_BODY_CHARS = 1600

# The one price of an outbound segment (US long code list price). Costs shown before sending,
# stored on each message and summed for the monthly spending limit (A4) all use it.
PRICE_PER_SEGMENT_USD = Decimal("0.0079")
# The one price of an outbound MMS (US list price): a text with a picture or a PDF is one MMS,
# never split into segments, whatever its body (up to 1,600 characters, any alphabet).
PRICE_PER_MMS_USD = Decimal("0.0200")

# GSM 03.38 basic character set (one septet each).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: an escape septet plus one, so two septets each.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM_ALL = GSM_BASIC | GSM_EXTENSION


class Encoding(StrEnum):
    GSM7 = "GSM-7"  # 160 septets in one segment, 153 per segment when split
    UCS2 = "UCS-2"  # 70 UTF-16 code units in one segment, 67 per segment when split


@dataclass(frozen=True)
class SegmentInfo:
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    characters: int

    def cost(self, price_per_segment: Decimal = PRICE_PER_SEGMENT_USD) -> Decimal:
        return price_per_segment * self.segments

    def as_dict(self) -> dict[str, object]:
        return {"encoding": self.encoding.value, "segments": self.segments,
                "characters": self.characters, "units": self.units,
                "cost_usd": float(self.cost())}


def text_cost(seg: SegmentInfo, media_count: int = 0) -> Decimal:
    """What one outbound text costs: its segments as SMS, or one MMS when it carries media."""
    return PRICE_PER_MMS_USD if media_count else seg.cost()


def billed_segments(seg: SegmentInfo, media_count: int = 0) -> int:
    """The parts the carrier sends (and paces): an MMS is one part, an SMS its segments."""
    return 1 if media_count else seg.segments


def is_gsm7(text: str) -> bool:
    return set(text) <= _GSM_ALL


def _gsm_septets(ch: str) -> int:
    return 2 if ch in GSM_EXTENSION else 1


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def count_segments(text: str) -> SegmentInfo:
    """Encoding and segment count as a carrier computes them.

    A split text spends part of each segment on its header (160 → 153 septets, 70 → 67 code
    units), and a character is never cut in two: an escaped GSM character (2 septets) or an
    emoji (a UTF-16 surrogate pair) that would straddle a boundary starts the next segment.
    """
    chars = set(text)
    if chars <= _GSM_ALL:
        size, single, multi, enc = _gsm_septets, 160, 153, Encoding.GSM7
        uniform = chars.isdisjoint(GSM_EXTENSION)
    else:
        size, single, multi, enc = _utf16_units, 70, 67, Encoding.UCS2
        uniform = max(text) <= "\uffff"
    if uniform:  # every character one unit: no character can straddle a boundary
        units = len(text)
        segments = (1 if units else 0) if units <= single else -(-units // multi)
        return SegmentInfo(enc, units, segments, len(text))
    sizes = [size(ch) for ch in text]
    units = sum(sizes)
    if units <= single:
        return SegmentInfo(enc, units, 1 if units else 0, len(text))
    segments, used = 1, 0
    for n in sizes:
        if used + n > multi:
            segments, used = segments + 1, 0
        used += n
    return SegmentInfo(enc, units, segments, len(text))
