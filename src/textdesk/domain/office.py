"""The practice's own phones, and where a test text may go (A6)."""

from __future__ import annotations

from collections.abc import Iterable

from textdesk.domain.phone import normalize


def office_phones(phones: Iterable[str | None], default_country: str = "US") -> frozenset[str]:
    """The E.164 form of every phone on record that parses (office mobile, clinic phones)."""
    found = (normalize(p, default_country) for p in phones if p)
    return frozenset(e164 for e164 in found if e164)


def refusal_of_test_text(to_e164: str | None, sender_e164: str | None,
                           own_phones: frozenset[str]) -> str | None:
    """The blocker code refusing a test text to `to_e164`, or None when it may go.

    A test text proves the path to the office itself, so it may go only to the practice's own
    phones; never to the sending number (the carrier refuses To == From, Twilio's 21266).
    """
    if to_e164 is not None and to_e164 == sender_e164:
        return "test_recipient_is_sender"
    if to_e164 is None or to_e164 not in own_phones:
        return "test_recipient_not_office"
    return None
