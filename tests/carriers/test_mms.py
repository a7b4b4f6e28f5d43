"""MMS on the Twilio protocol: NumMedia/MediaUrl{n} parsed and bounded, MediaUrl on the create
form, the simulator's Media URLs behind basic auth, and fetching them with the account's
credentials (size-capped)."""

from __future__ import annotations

import pytest

from tests.carriers.conftest import ACCOUNT_SID, AUTH_TOKEN, Receiver, RunningSimulator
from textdesk.carriers.base import CarrierError, InboundMedia, WebhookRejected
from textdesk.carriers.media import MediaFetcher, MediaTooLarge
from textdesk.carriers.simulator.samples import PDF, png
from textdesk.carriers.twilio import TwilioCarrier, message_form, parse_inbound

SID = "MM" + "ab" * 16
BASE = {"MessageSid": SID, "From": "+14155550123", "To": "+15005550006", "Body": "my card"}
URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{SID}/Media/ME" + "1" * 32


def test_num_media_and_each_url_and_type_are_parsed_in_order() -> None:
    text = parse_inbound({**BASE, "NumMedia": "2", "MediaUrl0": URL,
                          "MediaContentType0": "image/jpeg", "MediaUrl1": URL + "2",
                          "MediaContentType1": "Application/PDF"})
    assert text.media == (InboundMedia(URL, "image/jpeg"), InboundMedia(URL + "2",
                                                                         "application/pdf"))


def test_a_plain_text_has_no_media() -> None:
    assert parse_inbound(BASE).media == ()
    assert parse_inbound({**BASE, "NumMedia": "0"}).media == ()


@pytest.mark.parametrize(("extra", "code"), [
    ({"NumMedia": "11"}, "invalid_num_media"),
    ({"NumMedia": "-1"}, "invalid_num_media"),
    ({"NumMedia": "two"}, "invalid_num_media"),
    ({"NumMedia": "1"}, "invalid_media_url"),  # promised, not given
    ({"NumMedia": "1", "MediaUrl0": "javascript:alert(1)"}, "invalid_media_url"),
    ({"NumMedia": "1", "MediaUrl0": "file:///etc/passwd"}, "invalid_media_url"),
    ({"NumMedia": "1", "MediaUrl0": "https://x.example/" + "a" * 1000}, "invalid_media_url"),
    ({"NumMedia": "1", "MediaUrl0": "https://x.example/a b"}, "invalid_media_url"),
    ({"NumMedia": "1", "MediaUrl0": URL, "MediaContentType0": "<script>"},
     "invalid_media_content_type"),
])
def test_media_parameters_out_of_twilios_shapes_are_refused(extra: dict[str, str],
                                                            code: str) -> None:
    with pytest.raises(WebhookRejected) as refused:
        parse_inbound({**BASE, **extra})
    assert refused.value.code == code


def test_the_create_form_repeats_media_url_once_per_file() -> None:
    form = message_form(from_="+15005550006", to="+14155550123", body="", status_callback="",
                        media_urls=["https://td.example/m/1", "https://td.example/m/2"])
    assert form == {"To": "+14155550123", "From": "+15005550006", "Body": "",
                    "MediaUrl": ["https://td.example/m/1", "https://td.example/m/2"]}
    assert "MediaUrl" not in message_form(from_="+15005550006", to="+14155550123", body="hi",
                                          status_callback="")


def test_the_simulator_takes_an_mms_create_and_records_its_media_urls(
        simulator: RunningSimulator, carrier: TwilioCarrier) -> None:
    accepted = carrier.send(from_="+15005550006", to="+14155550123", body="",
                            status_callback="", media_urls=["http://127.0.0.1:9/m/a",
                                                            "http://127.0.0.1:9/m/b"])
    assert accepted.sid.startswith("MM")
    (logged,) = simulator.http.get("/sim/log").json()
    assert logged["media_urls"] == ["http://127.0.0.1:9/m/a", "http://127.0.0.1:9/m/b"]
    assert logged["num_segments"] == 1
    assert simulator.http.get(f"{simulator.messages_path[:-5]}/{accepted.sid}.json",
                              auth=(ACCOUNT_SID, AUTH_TOKEN)).json()["num_media"] == "2"


def test_more_than_ten_media_urls_are_refused_like_twilio(simulator: RunningSimulator) -> None:
    form = {"To": "+14155550123", "From": "+15005550006",
            "MediaUrl": [f"https://x.example/{n}" for n in range(11)]}
    response = simulator.http.post(simulator.messages_path, data=form,
                                   auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert (response.status_code, response.json()["code"]) == (400, 21623)


def _inbound_mms(simulator: RunningSimulator, receiver: Receiver,
                 media: object) -> dict[str, str]:
    answer = simulator.http.post("/sim/inbound", json={
        "from": "+14155550123", "to": "+15005550006", "body": "my card", "media": media})
    assert answer.status_code == 200, answer.text
    (call,) = receiver.received("inbound")
    assert call.is_valid
    return call.params


def test_the_simulator_delivers_a_picture_and_serves_it_behind_basic_auth(
        simulator: RunningSimulator, receiver: Receiver) -> None:
    params = _inbound_mms(simulator, receiver, 1)
    assert params["NumMedia"] == "1" and params["MessageSid"].startswith("MM")
    assert params["MediaContentType0"] == "image/png"
    url = params["MediaUrl0"]
    assert url.startswith(simulator.url + f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/")
    text = parse_inbound(params)  # what textdesk's webhook reads, shapes checked
    assert text.media[0].url == url
    assert simulator.http.get(url).status_code == 401  # no credentials
    assert simulator.http.get(url, auth=(ACCOUNT_SID, "wrong")).status_code == 401
    fetcher = MediaFetcher(ACCOUNT_SID, AUTH_TOKEN, simulator.url, timeout=5)
    try:
        fetched = fetcher.fetch(url, max_bytes=1024 * 1024)
    finally:
        fetcher.close()
    assert (fetched.data, fetched.content_type) == (png(), "image/png")


def test_credentials_go_only_to_the_carriers_own_origin(simulator: RunningSimulator,
                                                        receiver: Receiver) -> None:
    url = _inbound_mms(simulator, receiver, 1)["MediaUrl0"]
    other_origin = MediaFetcher(ACCOUNT_SID, AUTH_TOKEN, "https://api.twilio.com", timeout=5)
    try:
        with pytest.raises(CarrierError) as refused:
            other_origin.fetch(url, max_bytes=1024 * 1024)
    finally:
        other_origin.close()
    assert refused.value.http_status == 401 and not refused.value.is_transient


def test_a_file_past_the_cap_is_not_read_further(simulator: RunningSimulator,
                                                 receiver: Receiver) -> None:
    params = _inbound_mms(simulator, receiver, [{"content_type": "application/pdf",
                                                 "file": "pdf", "size": 300_000}])
    fetcher = MediaFetcher(ACCOUNT_SID, AUTH_TOKEN, simulator.url, timeout=5)
    try:
        with pytest.raises(MediaTooLarge):
            fetcher.fetch(params["MediaUrl0"], max_bytes=100_000)
        fetched = fetcher.fetch(params["MediaUrl0"], max_bytes=300_000)
    finally:
        fetcher.close()
    assert fetched.data.startswith(PDF) and len(fetched.data) == 300_000


def test_an_unknown_media_sid_is_404(simulator: RunningSimulator, receiver: Receiver) -> None:
    url = _inbound_mms(simulator, receiver, 1)["MediaUrl0"]
    fetcher = MediaFetcher(ACCOUNT_SID, AUTH_TOKEN, simulator.url, timeout=5)
    try:
        with pytest.raises(CarrierError) as missing:
            fetcher.fetch(url[:-4] + "0000", max_bytes=1024)
    finally:
        fetcher.close()
    assert missing.value.http_status == 404


def test_bad_media_requests_to_the_simulator_are_400(simulator: RunningSimulator) -> None:
    for media in (11, [{"file": "exe"}], ["png"], [{"size": -1}]):
        answer = simulator.http.post("/sim/inbound", json={
            "from": "+14155550123", "to": "+15005550006", "media": media})
        assert answer.status_code == 400, media
