"""Phone numbers: parse what staff typed into E.164 and say precisely what is wrong.

Every problem names what is wrong ("Area code 555 is not in service", "US numbers have 10
digits; this one has 7"), because "invalid" sends staff to a troubleshooting page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    NumberParseException,
    PhoneNumberType,
    ValidationResult,
    geocoder,
    timezone as pn_timezone,
)


class PhoneProblem(StrEnum):
    MISSING = "no_wireless_phone"  # nothing on file
    UNPARSEABLE = "phone_unparseable"  # cannot be read as a phone number
    INVALID = "phone_invalid"  # does not exist for its country / area code
    LANDLINE = "phone_landline"  # a fixed line by the numbering plan or a carrier report
    COUNTRY_NOT_ELIGIBLE = "country_not_eligible"  # country not allowed for the practice


class PhoneFinding(StrEnum):
    """What a carrier taught about a number; it sticks until staff edit the number (B7)."""

    LANDLINE = "landline"  # the carrier reported a landline (21614 / 30006)
    INVALID = "invalid"  # the carrier reported an invalid number (21211 / 30005)


FINDING_SENTENCES: dict[PhoneFinding, tuple[PhoneProblem, str]] = {
    PhoneFinding.LANDLINE: (PhoneProblem.LANDLINE,
                            "The carrier reported this number as a landline, which cannot "
                            "receive texts."),
    PhoneFinding.INVALID: (PhoneProblem.INVALID,
                           "The carrier reported this number as invalid or no longer in "
                           "service."),
}


@dataclass(frozen=True)
class ParsedPhone:
    raw: str
    e164: str | None
    region: str | None  # ISO country of the number, e.g. "US"
    problem: PhoneProblem | None
    detail: str | None  # the precise sentence for staff when there is a problem


# Types that may reach a handset that takes texts. The North American plan does not tell
# fixed from mobile (FIXED_LINE_OR_MOBILE), so there only the carrier can say "landline".
_WIRELESS_OK = frozenset({
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.PAGER,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.VOIP,
    PhoneNumberType.UNKNOWN,
})

_NOT_WIRELESS_NAMES = {
    PhoneNumberType.FIXED_LINE: "a landline",
    PhoneNumberType.TOLL_FREE: "a toll-free number",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.UAN: "a company's universal access number",
    PhoneNumberType.VOICEMAIL: "a voicemail access number",
}

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE:
        "has a country code that does not exist",
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "is too short to be a phone number",
    NumberParseException.TOO_LONG: "is too long to be a phone number",
}


@lru_cache(maxsize=4096)  # pure and hot: every judgement parses the same few numbers
def parse_phone(raw: str | None, default_country: str = "US") -> ParsedPhone:
    """Parse `raw` with the practice's default country; never raises."""
    text = (raw or "").strip()
    if not text:
        return ParsedPhone("", None, None, PhoneProblem.MISSING,
                           "There is no wireless phone on file.")
    if not any(ch.isdigit() for ch in text):
        return ParsedPhone(text, None, None, PhoneProblem.UNPARSEABLE,
                           f"\"{_mask(text)}\" has no digits, so it is not a phone number.")
    try:
        number = phonenumbers.parse(text, default_country)
    except NumberParseException as exc:
        why = _PARSE_ERRORS.get(exc.error_type, "cannot be read as a phone number")
        return ParsedPhone(text, None, None, PhoneProblem.UNPARSEABLE, f"\"{_mask(text)}\" {why}.")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    length_problem = _length_detail(number)
    if length_problem:
        return ParsedPhone(text, e164, None, PhoneProblem.INVALID, length_problem)
    if not phonenumbers.is_valid_number(number):
        return ParsedPhone(text, e164, None, PhoneProblem.INVALID, _invalid_detail(number))
    region = phonenumbers.region_code_for_number(number)
    kind = phonenumbers.number_type(number)
    if kind not in _WIRELESS_OK:
        what = _NOT_WIRELESS_NAMES.get(kind, "not a wireless number")
        return ParsedPhone(text, e164, region, PhoneProblem.LANDLINE,
                           f"The numbering plan of {_country_name(region)} lists this number as "
                           f"{what}, which cannot receive texts.")
    return ParsedPhone(text, e164, region, None, None)


def _length_detail(number: phonenumbers.PhoneNumber) -> str | None:
    """A sentence when the digit count is wrong for the number's country, else None."""
    verdict = phonenumbers.is_possible_number_with_reason(number)
    if verdict == ValidationResult.IS_POSSIBLE:
        return None
    if verdict == ValidationResult.INVALID_COUNTRY_CODE:
        return f"Country code +{number.country_code} does not exist."
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    desc = meta.general_desc if meta else None
    lengths = sorted(desc.possible_length or ()) if desc else []
    expected = " or ".join(str(n) for n in lengths) or "a different number of"
    digits = len(phonenumbers.national_significant_number(number))
    if verdict == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return (f"The number has no area code: {region} numbers have {expected} digits; this "
                f"one has {digits}.")
    return f"{region} numbers have {expected} digits; this one has {digits}."


def _invalid_detail(number: phonenumbers.PhoneNumber) -> str:
    national = str(number.national_number)
    if number.country_code == 1 and len(national) == 10:
        area, exchange = national[:3], national[3:6]
        if not _nanp_area_in_service(area):
            return f"Area code {area} is not in service."
        return f"Exchange {exchange} does not exist in area code {area}."
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    return (f"The number does not exist in {_country_name(region)} (+{number.country_code}): "
            f"check the area code.")


@lru_cache(maxsize=1024)
def _nanp_area_in_service(area: str) -> bool:
    """Whether any number in a North American area code is valid (the plan has no list)."""
    return any(phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area}{exchange}4567"))
               for exchange in range(200, 1000))


@lru_cache(maxsize=256)
def _country_name(region: str | None) -> str:
    if not region or region == "ZZ":
        return "its country"
    example = phonenumbers.example_number(region)
    name = geocoder.country_name_for_number(example, "en") if example else ""
    if name.startswith(("United ", "Dominican ", "Czech ")) or name in _NAMES_WITH_THE:
        return "the " + name
    return name or region


_NAMES_WITH_THE = frozenset({"Netherlands", "Philippines", "Bahamas", "Gambia", "Maldives"})


def _mask(text: str) -> str:
    """Staff see what they typed; only the shape is echoed, never a full number, in messages."""
    return text if len(text) <= 4 else text[:2] + "…" + text[-2:]


def check_country(parsed: ParsedPhone, allowed_countries: list[str]) -> str | None:
    """The sentence for a country that is not allowed, or None when it is."""
    if parsed.region and parsed.region not in {c.upper() for c in allowed_countries}:
        return (f"The number is in {_country_name(parsed.region)} ({parsed.region}), which is "
                f"not among the practice's allowed countries ({', '.join(allowed_countries)}).")
    return None


def normalize(raw: str, default_country: str = "US") -> str | None:
    """E.164 for a number that parses, else None (for matching inbound senders)."""
    return parse_phone(raw, default_country).e164


# A North American number's zones are read from its first seven digits (country code, area
# code, exchange: the zone table holds no longer prefix for +1, and the plan assigns number
# types by area code and exchange), so what one valid number of an exchange found holds for
# every number of it. A campaign reads 100,000 numbers from a few hundred exchanges.
_NANP_ZONES: dict[str, tuple[str, ...]] = {}
_NANP_PREFIX = 8  # "+1" and seven digits
_NANP_EXCHANGES_KEPT = 100_000


def time_zones(e164: str) -> tuple[str, ...]:
    """IANA time zones of a number, from its area code."""
    nanp = len(e164) == 12 and e164.startswith("+1") and e164[1:].isdigit()
    known = _NANP_ZONES.get(e164[:_NANP_PREFIX]) if nanp else None
    if known is not None:
        return known
    zones = _zones_of(e164)
    if nanp and zones and len(_NANP_ZONES) < _NANP_EXCHANGES_KEPT:
        _NANP_ZONES[e164[:_NANP_PREFIX]] = zones
    return zones


def _zones_of(e164: str) -> tuple[str, ...]:
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return ()
    zones = pn_timezone.time_zones_for_number(number)
    return tuple(z for z in zones if z != "Etc/Unknown")
