"""Message templates: merge fields, the checks made when a template is saved, rendering (E3).

A template is plain text with merge fields in braces, `Hi {first_name}, see you {appt_date}.`;
`{{` and `}}` stand for literal braces. Only the fields below exist: an automated text carries
no more about the patient than the appointment needs (a first name, never a last name, a
procedure or a balance). Every problem is found when the template is saved, so rendering at
send time cannot fail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from textdesk.domain.segments import MAX_BODY_CHARS, count_segments


class Purpose(StrEnum):
    REMINDER = "reminder"  # before an appointment (G2)
    CONFIRMATION = "confirmation"  # asks the patient to confirm an appointment (G3)
    RECALL = "recall"  # invites the patient to book a visit (Web Sched style)
    CAMPAIGN = "campaign"  # marketing to a chosen group (G4)


FIELDS: dict[str, str] = {
    "first_name": "the patient's first name",
    "clinic_name": "the clinic's name",
    "clinic_phone": "the clinic's phone number",
    "appt_date": "the appointment's date, e.g. Tue Mar 3",
    "appt_time": "the appointment's time, e.g. 9:30 AM",
    "confirm_link": "a signed link that confirms the appointment",
    "recall_link": "a signed link where the patient asks for a visit time",
}

_COMMON = frozenset({"first_name", "clinic_name", "clinic_phone"})
_APPOINTMENT = _COMMON | {"appt_date", "appt_time", "confirm_link"}

# Which fields a template may use: an appointment's fields only where there is an appointment.
AVAILABLE: dict[Purpose, frozenset[str]] = {
    Purpose.REMINDER: _APPOINTMENT,
    Purpose.CONFIRMATION: _APPOINTMENT,
    Purpose.RECALL: _COMMON | {"recall_link"},
    Purpose.CAMPAIGN: _COMMON | {"recall_link"},
}

# Long but plausible values: a template that fits with these fits with real ones.
WORST_CASE: dict[str, str] = {
    "first_name": "M" * 30,
    "clinic_name": "C" * 60,
    "clinic_phone": "(555) 555-0100",
    "appt_date": "Wed Sep 30",
    "appt_time": "12:30 PM",
    "confirm_link": "https://" + "d" * 40 + "/c/" + "t" * 48,
    "recall_link": "https://" + "d" * 40 + "/r/" + "t" * 48,
}

_FIELD = re.compile(r"[a-z_][a-z0-9_]*")
# Private-use characters are kept for bulk rendering's placeholders (storage.campaigns).
_RESERVED = re.compile("[\ue000-\uf8ff]")


@dataclass(frozen=True)
class Problem:
    code: str  # template_empty | invalid_character | unbalanced_braces | unknown_field |
    #            field_not_available | too_long
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Part:
    text: str  # literal text, or the field's name
    is_field: bool


class TemplateSyntaxError(ValueError):
    """Braces that do not pair up; `position` is the offending character."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def parse(text: str) -> list[Part]:
    """Split a template into literal text and fields; raises TemplateSyntaxError."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            literal.append(ch)
            i += 2
        elif ch == "}":
            raise TemplateSyntaxError(f"A '}}' at character {i + 1} closes nothing.", i)
        elif ch == "{":
            end = text.find("}", i + 1)
            opened = text.find("{", i + 1)
            if end < 0 or 0 <= opened < end:
                raise TemplateSyntaxError(f"The '{{' at character {i + 1} is never closed.", i)
            if literal:
                parts.append(Part("".join(literal), False))
                literal = []
            parts.append(Part(text[i + 1:end], True))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append(Part("".join(literal), False))
    return parts


def fields_of(text: str) -> frozenset[str]:
    return frozenset(p.text for p in parse(text) if p.is_field)


def check(text: str, purpose: Purpose) -> list[Problem]:
    """Every problem of a template for this purpose; an empty list means it is sound."""
    if not text.strip():
        return [Problem("template_empty", "The template is empty.")]
    if _RESERVED.search(text):
        return [Problem("invalid_character", "The template holds a private-use character.")]
    try:
        parts = parse(text)
    except TemplateSyntaxError as error:
        return [Problem("unbalanced_braces",
                        f"{error} Write {{{{ or }}}} for a literal brace.")]
    problems: list[Problem] = []
    for name in dict.fromkeys(p.text for p in parts if p.is_field):
        if name not in FIELDS or not _FIELD.fullmatch(name):
            problems.append(Problem("unknown_field", f"{{{name}}} is not a merge field; use one "
                                    f"of {', '.join('{' + f + '}' for f in FIELDS)}."))
        elif name not in AVAILABLE[purpose]:
            problems.append(Problem("field_not_available",
                                    f"{{{name}}} has no value in a {purpose.value} text."))
    if not problems:
        longest = _join(parts, WORST_CASE)
        if len(longest) > MAX_BODY_CHARS:
            problems.append(Problem("too_long", f"With long names the text reaches "
                                    f"{len(longest):,} characters; the limit is 1,600."))
    return problems


def render(text: str, values: Mapping[str, str]) -> str:
    """The text with its fields filled in; a field without a value is a programming error."""
    parts = parse(text)
    missing = {p.text for p in parts if p.is_field} - set(values)
    if missing:
        raise KeyError(f"no value for {sorted(missing)}")
    return _join(parts, values)


def _join(parts: list[Part], values: Mapping[str, str]) -> str:
    return "".join(values[p.text] if p.is_field else p.text for p in parts)


def appointment_values(start: datetime, zone: ZoneInfo) -> dict[str, str]:
    """The appointment's date and time as the patient reads them, in the practice's zone."""
    local = start.astimezone(zone)
    hour = local.hour % 12 or 12
    return {"appt_date": f"{local:%a %b} {local.day}",
            "appt_time": f"{hour}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"}


def preview(text: str, purpose: Purpose) -> dict[str, object]:
    """What staff see before saving: a sample text, and its length and segments."""
    sample = {name: WORST_CASE[name] for name in AVAILABLE[purpose]}
    sample.update(first_name="Maria", clinic_name="Main Street Dental",
                  appt_date="Tue Mar 3", appt_time="9:30 AM")
    body = render(text, sample)
    seg = count_segments(body)
    return {"sample": body, "characters": len(body), "segments": seg.segments,
            "encoding": seg.encoding.value}
