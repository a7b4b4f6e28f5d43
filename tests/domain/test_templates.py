from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from textdesk.domain.templates import (
    FIELDS,
    Part,
    Purpose,
    TemplateSyntaxError,
    appointment_values,
    check,
    fields_of,
    parse,
    preview,
    render,
)

VALUES = {"first_name": "Ana", "clinic_name": "Main Dental", "clinic_phone": "(415) 555-0100",
          "appt_date": "Tue Mar 3", "appt_time": "9:30 AM", "confirm_link": "https://d.example/c/t",
          "recall_link": "https://d.example/r/t"}


@pytest.mark.parametrize(("text", "purpose", "codes"), [
    ("Hi {first_name}, see you {appt_date} at {appt_time}.", Purpose.REMINDER, []),
    ("Reply C to confirm or tap {confirm_link}", Purpose.CONFIRMATION, []),
    ("{first_name}, time for a cleaning at {clinic_name}: {recall_link}", Purpose.CAMPAIGN, []),
    ("Literal {{braces}} are fine", Purpose.CAMPAIGN, []),
    ("", Purpose.REMINDER, ["template_empty"]),
    ("   ", Purpose.REMINDER, ["template_empty"]),
    ("Hi {first_name", Purpose.REMINDER, ["unbalanced_braces"]),
    ("Hi first_name}", Purpose.REMINDER, ["unbalanced_braces"]),
    ("Hi {first_{name}}", Purpose.REMINDER, ["unbalanced_braces"]),
    ("Hi {last_name}", Purpose.REMINDER, ["unknown_field"]),
    ("Your balance is {balance}", Purpose.REMINDER, ["unknown_field"]),
    ("Your {procedure} is booked", Purpose.REMINDER, ["unknown_field"]),
    ("Hi {FIRST_NAME}", Purpose.REMINDER, ["unknown_field"]),
    ("Hi { first_name }", Purpose.REMINDER, ["unknown_field"]),
    ("Hi {}", Purpose.REMINDER, ["unknown_field"]),
    ("Hi {first_name.__class__}", Purpose.REMINDER, ["unknown_field"]),
    ("See you {appt_date}", Purpose.CAMPAIGN, ["field_not_available"]),
    ("Confirm: {confirm_link}", Purpose.RECALL, ["field_not_available"]),
    ("Book: {recall_link}", Purpose.REMINDER, ["field_not_available"]),
    ("{last_name} {balance}", Purpose.REMINDER, ["unknown_field", "unknown_field"]),
    ("x" * 1590 + "{first_name}", Purpose.REMINDER, ["too_long"]),
    ("Hi \ue000", Purpose.REMINDER, ["invalid_character"]),
])
def test_problems_are_found_when_saved(text: str, purpose: Purpose, codes: list[str]) -> None:
    assert [p.code for p in check(text, purpose)] == codes


@pytest.mark.parametrize(("text", "expected"), [
    ("Hi {first_name}!", "Hi Ana!"),
    ("{clinic_name} {clinic_phone}", "Main Dental (415) 555-0100"),
    ("{appt_date} {appt_time}", "Tue Mar 3 9:30 AM"),
    ("{{first_name}} stays literal", "{first_name} stays literal"),
    ("a }} b {{ c", "a } b { c"),
    ("no fields", "no fields"),
    ("{first_name}{first_name}", "AnaAna"),
])
def test_render(text: str, expected: str) -> None:
    assert render(text, VALUES) == expected


def test_rendering_a_field_without_a_value_is_refused() -> None:
    with pytest.raises(KeyError):
        render("Hi {first_name}", {})


@pytest.mark.parametrize(("text", "position"), [("{", 0), ("ab}", 2), ("{a {b}", 0)])
def test_syntax_errors_say_where(text: str, position: int) -> None:
    with pytest.raises(TemplateSyntaxError) as error:
        parse(text)
    assert error.value.position == position


def test_parse_and_fields() -> None:
    assert parse("Hi {first_name}.") == [Part("Hi ", False), Part("first_name", True),
                                         Part(".", False)]
    assert fields_of("{first_name} {appt_date} {first_name}") == {"first_name", "appt_date"}


def test_only_the_minimum_patient_data_is_offered() -> None:
    assert set(FIELDS) == {"first_name", "clinic_name", "clinic_phone", "appt_date",
                           "appt_time", "confirm_link", "recall_link"}


@pytest.mark.parametrize(("start", "zone", "date", "clock"), [
    (datetime(2026, 3, 3, 14, 30, tzinfo=UTC), "America/New_York", "Tue Mar 3", "9:30 AM"),
    (datetime(2026, 3, 10, 17, 5, tzinfo=UTC), "America/New_York", "Tue Mar 10", "1:05 PM"),
    (datetime(2026, 3, 10, 4, 0, tzinfo=UTC), "America/New_York", "Tue Mar 10", "12:00 AM"),
    (datetime(2026, 3, 10, 19, 0, tzinfo=UTC), "America/Los_Angeles", "Tue Mar 10", "12:00 PM"),
])
def test_appointment_values_in_the_practice_zone(start: datetime, zone: str, date: str,
                                                 clock: str) -> None:
    assert appointment_values(start, ZoneInfo(zone)) == {"appt_date": date, "appt_time": clock}


def test_preview_counts_segments() -> None:
    shown = preview("Hi {first_name}, see you {appt_date}", Purpose.REMINDER)
    assert shown["sample"] == "Hi Maria, see you Tue Mar 3"
    assert shown["segments"] == 1 and shown["encoding"] == "GSM-7"
