"""Phone numbers: parse what staff typed into E.164 and say precisely what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


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


@dataclass(frozen=True)
class ParsedPhone:
    raw: str
    e164: str | None
    region: str | None  # ISO country of the number, e.g. "US"
    problem: PhoneProblem | None
    detail: str | None  # the precise sentence for staff when there is a problem


_WIRELESS_OK = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.PAGER,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.VOIP,
    PhoneNumberType.UNKNOWN,
}


def _area_code(number: phonenumbers.PhoneNumber) -> str | None:
    national = str(number.national_number)
    length = phonenumbers.length_of_geographical_area_code(number)
    return national[:length] if length else None


def parse_phone(raw: str | None, default_country: str = "US") -> ParsedPhone:
    """Parse `raw` with the practice's default country; never raises."""
    text = (raw or "").strip()
    if not text:
        return ParsedPhone("", None, None, PhoneProblem.MISSING, "There is no phone number on file.")
    try:
        number = phonenumbers.parse(text, default_country)
    except NumberParseException:
        return ParsedPhone(text, None, None, PhoneProblem.UNPARSEABLE,
                           f"\"{_mask(text)}\" cannot be read as a phone number.")
    region = phonenumbers.region_code_for_number(number)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        return ParsedPhone(text, e164, region, PhoneProblem.INVALID, _invalid_detail(number))
    if phonenumbers.number_type(number) not in _WIRELESS_OK:
        return ParsedPhone(text, e164, region, PhoneProblem.LANDLINE,
                           "The numbering plan lists this number as a landline, which cannot "
                           "receive texts.")
    return ParsedPhone(text, e164, region, None, None)


def _invalid_detail(number: phonenumbers.PhoneNumber) -> str:
    country_code = number.country_code
    if not phonenumbers.region_codes_for_country_code(country_code):
        return f"Country code +{country_code} does not exist."
    region = phonenumbers.region_code_for_number(number)
    if country_code == 1 and len(str(number.national_number)) == 10:
        area = str(number.national_number)[:3]
        return f"Area code {area} is not in service."
    if not phonenumbers.is_possible_number(number):
        return f"The number has the wrong number of digits for +{country_code}."
    where = region or f"+{country_code}"
    area = _area_code(number)
    if area:
        return f"Area code {area} is not in service in {where}."
    return f"The number does not exist in {where}."


def _mask(text: str) -> str:
    """Staff see what they typed; only the shape is echoed, never a full number, in messages."""
    return text if len(text) <= 4 else text[:2] + "…" + text[-2:]


def check_country(parsed: ParsedPhone, allowed_countries: list[str]) -> str | None:
    """The sentence for a country that is not allowed, or None when it is."""
    if parsed.region and parsed.region not in {c.upper() for c in allowed_countries}:
        return (f"The number is in {parsed.region}, which is not among the practice's allowed "
                f"countries ({', '.join(allowed_countries)}).")
    return None


def normalize(raw: str, default_country: str = "US") -> str | None:
    """E.164 for a number that parses, else None (for matching inbound senders)."""
    return parse_phone(raw, default_country).e164


def time_zones(e164: str) -> tuple[str, ...]:
    """IANA time zones of a number, from its area code."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return ()
    from phonenumbers import timezone as pn_timezone

    zones = pn_timezone.time_zones_for_number(number)
    return tuple(z for z in zones if z != "Etc/Unknown")
