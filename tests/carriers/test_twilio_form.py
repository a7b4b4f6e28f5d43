"""The one Twilio create form, and the inbound parameters of opt-outs and messaging services."""

from __future__ import annotations

import pytest

from textdesk.carriers.base import WebhookRejected
from textdesk.carriers.twilio import default_keyword_type, message_form, parse_inbound

SERVICE = "MG" + "0f" * 16
SID = "SM" + "1" * 32


def test_a_messaging_service_replaces_from() -> None:
    form = message_form(from_="+15005550006", to="+14155550123", body="Hi",
                        status_callback="https://x/status", messaging_service_sid=SERVICE)
    assert form == {"To": "+14155550123", "Body": "Hi", "MessagingServiceSid": SERVICE,
                    "StatusCallback": "https://x/status"}


@pytest.mark.parametrize(("seconds", "given"), [
    (None, None), (0.2, "1"), (59.9, "59"), (36_000, "36000"), (36_001, None), (90_000, None)])
def test_validity_period_is_whole_seconds_from_1_to_36000_or_omitted(
        seconds: float | None, given: str | None) -> None:
    form = message_form(from_="+15005550006", to="+14155550123", body="Hi", status_callback="",
                        validity_seconds=seconds)
    assert form.get("ValidityPeriod") == given
    assert form["From"] == "+15005550006" and "StatusCallback" not in form


def _params(**extra: str) -> dict[str, str]:
    return {"MessageSid": SID, "From": "+14155550123", "To": "+15005550006", "Body": "STOP",
            **extra}


def test_inbound_reads_opt_out_type_and_messaging_service() -> None:
    text = parse_inbound(_params(OptOutType="stop", MessagingServiceSid=SERVICE))
    assert (text.opt_out_type, text.messaging_service_sid) == ("STOP", SERVICE)
    plain = parse_inbound(_params())
    assert (plain.opt_out_type, plain.messaging_service_sid) == (None, None)


@pytest.mark.parametrize(("extra", "code"), [
    ({"OptOutType": "UNSUBSCRIBE"}, "invalid_opt_out_type"),
    ({"MessagingServiceSid": "MG123"}, "invalid_messaging_service_sid")])
def test_inbound_refuses_shapes_twilio_never_sends(extra: dict[str, str], code: str) -> None:
    with pytest.raises(WebhookRejected) as refused:
        parse_inbound(_params(**extra))
    assert refused.value.code == code


@pytest.mark.parametrize(("body", "kind"), [
    ("STOP", "STOP"), (" stop ", "STOP"), ("Cancel", "STOP"), ("stopall", "STOP"),
    ("START", "START"), ("yes", "START"), ("unstop", "START"), ("HELP", "HELP"),
    ("info", "HELP"), ("revoke", None), ("stop please", None), ("", None)])
def test_the_keywords_twilio_answers_by_default(body: str, kind: str | None) -> None:
    assert default_keyword_type(body) == kind
