"""TwilioCarrier against the simulator over real HTTP, and against captured Twilio payloads."""

from __future__ import annotations

import json
import re
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.carriers.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FIXTURES,
    Receiver,
    RunningSimulator,
)
from textdesk.carriers.base import Carrier, CarrierError
from textdesk.carriers.twilio import (
    TwilioCarrier,
    error_from_response,
    parse_accepted,
    parse_message,
    parse_twilio_date,
)
from textdesk.domain.reasons import FailureCause, cause_for_error

PRACTICE = "+14155550100"
PATIENT = "+14155550123"
CALLBACK = "https://desk.example.com/webhooks/twilio/status"


def _send(carrier: TwilioCarrier, to: str = PATIENT, from_: str = PRACTICE,
          body: str = "Your appointment is tomorrow at 9:00.", callback: str = "") -> str:
    return carrier.send(from_=from_, to=to, body=body, status_callback=callback).sid


def _refusal(carrier: TwilioCarrier, **kwargs: str) -> CarrierError:
    with pytest.raises(CarrierError) as caught:
        _send(carrier, **kwargs)
    return caught.value


def test_it_implements_the_carrier_protocol(carrier: TwilioCarrier) -> None:
    implementation: Carrier = carrier
    assert implementation.name == "twilio"


def test_send_returns_the_carriers_sid_and_status(carrier: TwilioCarrier,
                                                  simulator: RunningSimulator) -> None:
    accepted = carrier.send(from_=PRACTICE, to=PATIENT, body="Hello", status_callback="")
    assert re.fullmatch(r"SM[0-9a-f]{32}", accepted.sid)
    assert accepted.status == "queued"
    [logged] = simulator.http.get("/sim/log").json()
    assert (logged["sid"], logged["to"], logged["from"], logged["body"]) == (
        accepted.sid, PATIENT, PRACTICE, "Hello")


@pytest.mark.parametrize(("to", "code", "cause"), [
    ("+15005550001", 21211, FailureCause.RECIPIENT_INVALID),
    ("+15005550002", 21612, FailureCause.RECIPIENT_UNREACHABLE),
    ("+15005550003", 21408, FailureCause.COUNTRY_NOT_PERMITTED),
    ("+15005550004", 21610, FailureCause.RECIPIENT_OPTED_OUT),
    ("+15005550009", 21614, FailureCause.RECIPIENT_LANDLINE),
])
def test_twilios_test_recipients_are_refused_permanently(
        carrier: TwilioCarrier, simulator: RunningSimulator, to: str, code: int,
        cause: FailureCause) -> None:
    error = _refusal(carrier, to=to)
    assert (error.error_code, error.http_status, error.is_transient) == (code, 400, False)
    assert cause_for_error(error.error_code) is cause
    assert simulator.http.get("/sim/log").json() == []


@pytest.mark.parametrize(("from_", "code"), [
    ("+15005550001", 21212), ("+15005550007", 21606), ("+15005550008", 21611),
])
def test_twilios_test_senders_are_refused_permanently(carrier: TwilioCarrier, from_: str,
                                                      code: int) -> None:
    error = _refusal(carrier, from_=from_)
    assert (error.error_code, error.http_status, error.is_transient) == (code, 400, False)
    assert cause_for_error(code) is FailureCause.SENDER_INVALID


def test_any_other_sender_is_accepted(carrier: TwilioCarrier) -> None:
    assert _send(carrier, from_="+15005550006")
    assert _send(carrier, from_="+12125550199")


def test_an_empty_body_is_refused(carrier: TwilioCarrier) -> None:
    assert _refusal(carrier, body="").error_code == 21602


def test_refusals_do_not_carry_the_phone_number(carrier: TwilioCarrier) -> None:
    error = _refusal(carrier, to="+15005550001")
    assert "5005550001" not in str(error)


def test_wrong_credentials_are_a_permanent_20003(simulator: RunningSimulator) -> None:
    carrier = TwilioCarrier(ACCOUNT_SID, "wrong-token", simulator.url, timeout=5)
    try:
        error = _refusal(carrier)
    finally:
        carrier.close()
    assert (error.error_code, error.http_status, error.is_transient) == (20003, 401, False)


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)])
def test_carrier_trouble_is_transient_and_passes(carrier: TwilioCarrier,
                                                 simulator: RunningSimulator, status: int,
                                                 code: int) -> None:
    simulator.configure(fail_next=2, fail_status=status)
    for _ in range(2):
        error = _refusal(carrier)
        assert (error.error_code, error.http_status, error.is_transient) == (code, status, True)
    assert _send(carrier)
    assert len(simulator.http.get("/sim/log").json()) == 1


def test_a_timeout_is_transient_and_the_text_can_be_found_afterwards(
        simulator: RunningSimulator) -> None:
    simulator.configure(latency_ms=800)
    impatient = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, simulator.url, timeout=0.2)
    since = datetime.now(UTC) - timedelta(seconds=1)
    try:
        error = _refusal(impatient)
        assert error.is_transient and error.http_status is None
        assert error.maybe_taken  # the request reached the carrier: it may hold the text
        simulator.configure(latency_ms=0)
        found = impatient.find_sent(from_=PRACTICE, to=PATIENT, since=since)
    finally:
        impatient.close()
    assert [m.to for m in found] == [PATIENT]


def test_an_unreachable_carrier_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    carrier = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, f"http://127.0.0.1:{port}", timeout=2)
    try:
        error = _refusal(carrier)
    finally:
        carrier.close()
    assert error.is_transient and error.error_code is None
    assert not error.maybe_taken  # never connected: safe to send again


def test_find_sent_lists_this_pair_since_the_given_moment(carrier: TwilioCarrier) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    first, second = _send(carrier, body="one"), _send(carrier, body="two")
    _send(carrier, to="+14155550124")
    _send(carrier, from_="+14155550101")
    found = carrier.find_sent(from_=PRACTICE, to=PATIENT, since=since)
    assert {m.sid for m in found} == {first, second}
    assert {m.body for m in found} == {"one", "two"}
    assert all(m.date_created and m.date_created >= since for m in found)
    assert carrier.find_sent(from_=PRACTICE, to=PATIENT,
                             since=datetime.now(UTC) + timedelta(minutes=1)) == []


def test_find_sent_accepts_a_naive_utc_moment(carrier: TwilioCarrier) -> None:
    sid = _send(carrier)
    naive = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)
    assert [m.sid for m in carrier.find_sent(from_=PRACTICE, to=PATIENT, since=naive)] == [sid]


def test_fetch_follows_the_status(carrier: TwilioCarrier, simulator: RunningSimulator,
                                  receiver: Receiver) -> None:
    sid = _send(carrier, callback=receiver.url + "/webhooks/twilio/status")
    assert simulator.sim.wait_idle(5)
    assert carrier.fetch(sid).status == "delivered"
    assert [c.params["MessageStatus"] for c in receiver.received()] == ["sent", "delivered"]


# -- captured payloads ----------------------------------------------------------------------

def _fixture(name: str) -> dict[str, object]:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def test_a_captured_message_resource_parses() -> None:
    data = _fixture("twilio_message_create_201.json")
    accepted = parse_accepted(data)
    assert (accepted.sid, accepted.status) == ("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "sent")
    message = parse_message(data)
    assert message.body == "O Slash: \u00d8, PoP: \U0001f4a9"
    assert (message.to, message.from_) == ("+14155552345", "+14155552345")
    assert message.date_created == datetime(2015, 7, 30, 20, 12, 31, tzinfo=UTC)


def test_a_captured_list_page_is_followed_to_its_end() -> None:
    page = _fixture("twilio_messages_list.json")
    first = {**page, "next_page_uri": "/2010-04-01/Accounts/ACaa/Messages.json?Page=1"}
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=first if len(requests) == 1 else page)

    carrier = TwilioCarrier("ACaa", "token", "https://api.twilio.test",
                            transport=httpx.MockTransport(handler))
    found = carrier.find_sent(from_="+14155552345", to="+14155552345",
                              since=datetime(2015, 9, 4, tzinfo=UTC))
    carrier.close()
    assert len(found) == 2 and len(requests) == 2
    assert requests[0].url.params["DateSent>="] == "2015-09-04"
    assert requests[0].url.params["To"] == "+14155552345"
    assert requests[1].url.path == "/2010-04-01/Accounts/ACaa/Messages.json"
    assert requests[0].headers["authorization"].startswith("Basic ")


def test_the_create_request_is_twilios_form() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=_fixture("twilio_message_create_201.json"))

    carrier = TwilioCarrier("ACaa", "token", "https://api.twilio.test",
                            transport=httpx.MockTransport(handler))
    carrier.send(from_=PRACTICE, to=PATIENT, body="Hi & bye", status_callback=CALLBACK)
    carrier.close()
    [request] = seen
    assert request.method == "POST"
    assert request.url.path == "/2010-04-01/Accounts/ACaa/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form == {"To": PATIENT, "From": PRACTICE, "Body": "Hi & bye",
                    "StatusCallback": CALLBACK}


def test_a_captured_error_document_becomes_a_carrier_error() -> None:
    error = error_from_response(httpx.Response(400, json=_fixture("twilio_error_21211.json")))
    assert (error.error_code, error.http_status, error.is_transient) == (21211, 400, False)
    assert "5005550001" not in str(error)
    throttled = error_from_response(httpx.Response(429,
                                                   json=_fixture("twilio_error_20429.json")))
    assert (throttled.error_code, throttled.is_transient) == (20429, True)


@pytest.mark.parametrize(("status", "body", "code", "transient"), [
    (502, "<html>Bad gateway</html>", None, True),
    (400, json.dumps({"code": 20429, "message": "Too Many Requests", "status": 400}), 20429,
     True),
    (404, json.dumps({"code": 20404, "message": "Not found"}), 20404, False),
    (400, json.dumps({"code": "21211", "message": "bad"}), 21211, False),
])
def test_errors_are_classified(status: int, body: str, code: int | None,
                               transient: bool) -> None:
    error = error_from_response(httpx.Response(status, text=body))
    assert (error.error_code, error.is_transient) == (code, transient)


def test_a_success_without_a_sid_is_an_error() -> None:
    with pytest.raises(CarrierError):
        parse_accepted({"status": "queued"})


@pytest.mark.parametrize(("value", "expected"), [
    ("Thu, 30 Jul 2015 20:12:31 +0000", datetime(2015, 7, 30, 20, 12, 31, tzinfo=UTC)),
    ("Thu, 30 Jul 2015 22:12:31 +0200", datetime(2015, 7, 30, 20, 12, 31, tzinfo=UTC)),
    (None, None), ("", None), ("not a date", None),
])
def test_twilio_dates(value: str | None, expected: datetime | None) -> None:
    assert parse_twilio_date(value) == expected
