"""Phones: each problem is its own code with a sentence that names what is wrong (B1–B6)."""

from __future__ import annotations

import pytest

from textdesk.domain.phone import PhoneProblem, check_country, normalize, parse_phone, time_zones

P = PhoneProblem


@pytest.mark.parametrize(("raw", "country", "e164", "region"), [
    ("(415) 555-0123", "US", "+14155550123", "US"),
    ("415.555.0123", "US", "+14155550123", "US"),
    ("1-415-555-0123", "US", "+14155550123", "US"),
    ("+1 416 555 0123", "US", "+14165550123", "CA"),
    ("787-555-0123", "US", "+17875550123", "PR"),
    ("(416) 555-0123", "CA", "+14165550123", "CA"),
    ("4155550123 ext 12", "US", "+14155550123", "US"),
    ("+15005550006", "US", "+15005550006", "US"),  # Twilio's magic test numbers
    ("+52 55 1234 5678", "US", "+525512345678", "MX"),
    ("07400 123456", "GB", "+447400123456", "GB"),
])
def test_good_numbers_parse_to_e164(raw: str, country: str, e164: str, region: str) -> None:
    parsed = parse_phone(raw, country)
    assert (parsed.problem, parsed.e164, parsed.region, parsed.raw) == (None, e164, region, raw)


@pytest.mark.parametrize(("raw", "country", "problem", "detail"), [
    (None, "US", P.MISSING, "There is no wireless phone on file."),
    ("   ", "US", P.MISSING, "There is no wireless phone on file."),
    ("call me", "US", P.UNPARSEABLE, '"ca…me" has no digits, so it is not a phone number.'),
    ("x1", "US", P.UNPARSEABLE, '"x1" is not a phone number.'),
    ("+0 123 4567", "US", P.UNPARSEABLE, '"+0…67" has a country code that does not exist.'),
    ("(555) 123-4567", "US", P.INVALID, "Area code 555 is not in service."),
    ("+1 211 555 0123", "US", P.INVALID, "Area code 211 is not in service."),
    ("+1 415 055 0123", "US", P.INVALID, "Exchange 055 does not exist in area code 415."),
    ("555-0123", "US", P.INVALID,
     "The number has no area code: US numbers have 10 digits; this one has 7."),
    ("41555501", "US", P.INVALID, "US numbers have 10 digits; this one has 8."),
    ("+1 415 555 01234", "US", P.INVALID, "US numbers have 10 digits; this one has 11."),
    ("+44 7700 900123", "US", P.INVALID,
     "The number does not exist in the United Kingdom (+44): check the area code."),
    ("+44 20 7946 0018", "US", P.LANDLINE,
     "The numbering plan of the United Kingdom lists this number as a landline, which cannot "
     "receive texts."),
    ("+33 1 23 45 67 89", "US", P.LANDLINE,
     "The numbering plan of France lists this number as a landline, which cannot receive "
     "texts."),
    ("+1 800 555 0123", "US", P.LANDLINE,
     "The numbering plan of the United States lists this number as a toll-free number, which "
     "cannot receive texts."),
    ("+1 900 555 0123", "US", P.LANDLINE,
     "The numbering plan of the United States lists this number as a premium-rate number, "
     "which cannot receive texts."),
])
def test_each_problem_says_what_is_wrong(raw: str | None, country: str, problem: PhoneProblem,
                                         detail: str) -> None:
    parsed = parse_phone(raw, country)
    assert (parsed.problem, parsed.detail) == (problem, detail)


def test_messages_never_echo_a_whole_number() -> None:
    detail = parse_phone("+0 1234 5678 90", "US").detail or ""
    assert "1234" not in detail and "5678" not in detail


def test_the_default_country_decides_numbers_without_a_plus() -> None:
    assert parse_phone("020 7946 0018", "GB").e164 == "+442079460018"
    assert parse_phone("020 7946 0018", "US").problem is P.INVALID


@pytest.mark.parametrize(("raw", "allowed", "sentence"), [
    ("(415) 555-0123", ["US", "CA", "PR"], None),
    ("+1 416 555 0123", ["US", "CA", "PR"], None),
    ("+1 787 555 0123", ["US", "CA", "PR"], None),
    ("+1 416 555 0123", ["US"],
     "The number is in Canada (CA), which is not among the practice's allowed countries (US)."),
    ("+1 787 555 0123", ["US", "CA"],
     "The number is in Puerto Rico (PR), which is not among the practice's allowed countries "
     "(US, CA)."),
    ("+52 55 1234 5678", ["us", "mx"], None),  # case does not matter
    ("(555) 123-4567", ["CA"], None),  # an invalid number has no country to judge
])
def test_country_eligibility(raw: str, allowed: list[str], sentence: str | None) -> None:
    assert check_country(parse_phone(raw, "US"), allowed) == sentence


def test_normalize_keeps_parseable_numbers_for_matching_senders() -> None:
    assert normalize("(415) 555-0123") == "+14155550123"
    assert normalize("call me") is None


def test_time_zones_come_from_the_area_code() -> None:
    assert time_zones("+14155550123") == ("America/Los_Angeles",)
    assert time_zones("not a number") == ()
