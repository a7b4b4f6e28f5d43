"""Webhook signatures: ours must agree with Twilio's own RequestValidator, bit for bit."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from textdesk.carriers.twilio import is_valid_signature, public_webhook_url, sign

# Twilio's documented example (twilio-python's own validator tests).
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {"CallSid": "CA1234567890ABCDE", "Digits": "1234", "From": "+14158675309",
              "To": "+18005551212", "Caller": "+14158675309"}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

TOKEN = "a-test-auth-token"
URL = "https://desk.example.com/webhooks/twilio/status"
PARAMS = {"MessageSid": "SM" + "a" * 32, "SmsSid": "SM" + "a" * 32, "AccountSid": "AC" + "b" * 32,
          "From": "+15017250604", "To": "+15558675310", "MessageStatus": "delivered",
          "SmsStatus": "delivered", "ApiVersion": "2010-04-01"}


def test_sign_reproduces_twilios_documented_signature() -> None:
    assert sign(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert is_valid_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, DOC_SIGNATURE)


def test_a_signed_request_is_valid_for_us_and_for_twilio() -> None:
    signature = sign(TOKEN, URL, PARAMS)
    assert is_valid_signature(TOKEN, URL, PARAMS, signature)
    assert RequestValidator(TOKEN).validate(URL, PARAMS, signature)


def test_a_request_signed_by_twilios_validator_is_valid_for_us() -> None:
    signature = RequestValidator(TOKEN).compute_signature(URL, PARAMS)
    assert is_valid_signature(TOKEN, URL, PARAMS, signature)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_changing_any_parameter_is_rejected(name: str) -> None:
    signature = sign(TOKEN, URL, PARAMS)
    tampered = {**PARAMS, name: PARAMS[name] + "x"}
    assert not is_valid_signature(TOKEN, URL, tampered, signature)
    assert not RequestValidator(TOKEN).validate(URL, tampered, signature)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_dropping_any_parameter_is_rejected(name: str) -> None:
    signature = sign(TOKEN, URL, PARAMS)
    fewer = {k: v for k, v in PARAMS.items() if k != name}
    assert not is_valid_signature(TOKEN, URL, fewer, signature)


def test_adding_a_parameter_is_rejected() -> None:
    signature = sign(TOKEN, URL, PARAMS)
    assert not is_valid_signature(TOKEN, URL, {**PARAMS, "ErrorCode": "30006"}, signature)


@pytest.mark.parametrize("url", [
    "https://desk.example.com/webhooks/twilio/inbound",
    "http://desk.example.com/webhooks/twilio/status",
    "https://evil.example.com/webhooks/twilio/status",
    "https://desk.example.com/webhooks/twilio/status?x=1",
    "https://desk.example.com/webhooks/twilio/status/",
])
def test_changing_the_url_is_rejected(url: str) -> None:
    signature = sign(TOKEN, URL, PARAMS)
    assert not is_valid_signature(TOKEN, url, PARAMS, signature)
    assert not RequestValidator(TOKEN).validate(url, PARAMS, signature)


def test_the_default_port_may_be_present_or_not_as_with_twilio() -> None:
    signature = sign(TOKEN, URL, PARAMS)
    with_port = URL.replace(".com/", ".com:443/")
    assert is_valid_signature(TOKEN, with_port, PARAMS, signature)
    assert RequestValidator(TOKEN).validate(with_port, PARAMS, signature)


@pytest.mark.parametrize("signature", [
    "", None, "not-base64", "A" * 28, "ünïcode-sïgnature",
])
def test_missing_or_garbage_signatures_are_rejected(signature: str | None) -> None:
    assert not is_valid_signature(TOKEN, URL, PARAMS, signature)


def test_one_flipped_character_is_rejected() -> None:
    signature = sign(TOKEN, URL, PARAMS)
    flipped = ("B" if signature[0] != "B" else "C") + signature[1:]
    assert not is_valid_signature(TOKEN, URL, PARAMS, flipped)
    assert not RequestValidator(TOKEN).validate(URL, PARAMS, flipped)


def test_another_auth_token_is_rejected() -> None:
    signature = sign("another-token", URL, PARAMS)
    assert not is_valid_signature(TOKEN, URL, PARAMS, signature)
    assert not is_valid_signature("", URL, PARAMS, sign("", URL, PARAMS))


def test_form_data_with_repeated_keys_signs_like_twilio() -> None:
    form = FormData([("Body", "hi"), ("MediaUrl", "b"), ("MediaUrl", "a")])
    signature = RequestValidator(TOKEN).compute_signature(URL, form)
    assert sign(TOKEN, URL, form) == signature
    assert is_valid_signature(TOKEN, URL, form, signature)


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(params=st.dictionaries(st.text(st.characters(min_codepoint=65, max_codepoint=122),
                                      min_size=1, max_size=12), _text, max_size=8),
       path=st.from_regex(r"/[a-z]{1,10}(/[a-z]{1,10})?", fullmatch=True))
def test_any_request_signed_by_us_validates_with_twilio(params: dict[str, str],
                                                         path: str) -> None:
    url = "https://desk.example.com" + path
    signature = sign(TOKEN, url, params)
    assert RequestValidator(TOKEN).validate(url, params, signature)
    assert is_valid_signature(TOKEN, url, params, signature)
    assert not is_valid_signature(TOKEN, url, {**params, "Extra": "1"}, signature)


@pytest.mark.parametrize(("public_url", "path", "query", "expected"), [
    ("https://desk.example.com", "/webhooks/twilio/status", "",
     "https://desk.example.com/webhooks/twilio/status"),
    ("https://desk.example.com/", "/webhooks/twilio/status", None,
     "https://desk.example.com/webhooks/twilio/status"),
    ("https://desk.example.com", "/webhooks/twilio/status", "a=1&b=2",
     "https://desk.example.com/webhooks/twilio/status?a=1&b=2"),
    ("https://desk.example.com", "webhooks/twilio/inbound", b"x=%2B1",
     "https://desk.example.com/webhooks/twilio/inbound?x=%2B1"),
    ("https://proxy.example.com/textdesk/", "/webhooks/twilio/inbound", "",
     "https://proxy.example.com/textdesk/webhooks/twilio/inbound"),
])
def test_public_webhook_url(public_url: str, path: str, query: str | bytes | None,
                            expected: str) -> None:
    assert public_webhook_url(public_url, path, query) == expected


def test_behind_a_proxy_the_public_url_validates_where_the_seen_url_does_not() -> None:
    signed_url = "https://desk.example.com/webhooks/twilio/status?attempt=1"
    signature = sign(TOKEN, signed_url, PARAMS)
    seen_url = "http://10.0.0.5:8000/webhooks/twilio/status?attempt=1"
    rebuilt = public_webhook_url("https://desk.example.com", "/webhooks/twilio/status",
                                 "attempt=1")
    assert not is_valid_signature(TOKEN, seen_url, PARAMS, signature)
    assert is_valid_signature(TOKEN, rebuilt, PARAMS, signature)
