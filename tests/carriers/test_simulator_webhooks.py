"""The carrier simulator's webhooks over real HTTP: signed status callbacks, patients who reply."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator

from tests.carriers.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FIXTURES,
    Receiver,
    RunningSimulator,
    serve_in_thread,
    wait_until,
)
from textdesk.carriers.simulator import create_simulator
from textdesk.carriers.simulator.protocol import SimMessage, callback_params, inbound_params

PRACTICE = "+14155550100"
PATIENT = "+14155550123"


def _send(simulator: RunningSimulator, receiver: Receiver, to: str = PATIENT,
          body: str = "See you tomorrow") -> str:
    response = simulator.create(To=to, From=PRACTICE, Body=body,
                                StatusCallback=receiver.url + "/webhooks/twilio/status")
    assert response.status_code == 201, response.text
    return response.json()["sid"]  # type: ignore[no-any-return]


def _statuses(receiver: Receiver, sid: str, count: int) -> list[tuple[str, str | None]]:
    calls = wait_until(lambda: (found := [c for c in receiver.received()
                                          if c.params["MessageSid"] == sid])
                       and len(found) >= count and found)
    assert all(c.is_valid for c in calls), "every callback must carry a valid signature"
    return [(c.params["MessageStatus"], c.params.get("ErrorCode")) for c in calls]


def _fetch(simulator: RunningSimulator, sid: str) -> dict[str, object]:
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"
    return simulator.http.get(path, auth=(ACCOUNT_SID, AUTH_TOKEN)).json()  # type: ignore


# -- status callbacks -----------------------------------------------------------------------

def test_callbacks_arrive_signed_with_twilios_parameters(simulator: RunningSimulator,
                                                         receiver: Receiver) -> None:
    sid = _send(simulator, receiver)
    assert _statuses(receiver, sid, 2) == [("sent", None), ("delivered", None)]
    call = receiver.received()[0]
    documented = dict(parse_qsl((FIXTURES / "twilio_status_callback_sent.form").read_text()))
    assert set(call.params) == set(documented)
    assert call.params["AccountSid"] == ACCOUNT_SID and call.params["SmsSid"] == sid
    assert (call.params["From"], call.params["To"]) == (PRACTICE, PATIENT)
    assert simulator.sim.wait_idle(5)
    assert _fetch(simulator, sid)["status"] == "delivered"
    results = simulator.http.get("/sim/callbacks", params={"sid": sid}).json()
    assert [(r["message_status"], r["http_status"]) for r in results] == [
        ("sent", 200), ("delivered", 200)]


def test_callback_signatures_fail_with_another_token(simulator: RunningSimulator,
                                                     receiver: Receiver) -> None:
    sid = _send(simulator, receiver)
    call = wait_until(lambda: receiver.received())[0]
    assert call.params["MessageSid"] == sid
    url = receiver.url + "/webhooks/twilio/status"
    assert RequestValidator(AUTH_TOKEN).validate(url, call.params, call.signature)
    assert not RequestValidator("other-token").validate(url, call.params, call.signature)


def test_duplicate_mode_posts_every_callback_twice(simulator: RunningSimulator,
                                                   receiver: Receiver) -> None:
    simulator.configure(duplicate_callbacks=True)
    sid = _send(simulator, receiver)
    assert _statuses(receiver, sid, 4) == [("sent", None)] * 2 + [("delivered", None)] * 2


def test_reorder_mode_reports_delivered_before_sent(simulator: RunningSimulator,
                                                    receiver: Receiver) -> None:
    simulator.configure(reorder_callbacks=True)
    sid = _send(simulator, receiver)
    assert _statuses(receiver, sid, 2) == [("delivered", None), ("sent", None)]
    assert simulator.sim.wait_idle(5)
    assert _fetch(simulator, sid)["status"] == "delivered"


def test_a_landline_ends_undelivered_with_30006(simulator: RunningSimulator,
                                                receiver: Receiver) -> None:
    assert simulator.http.post("/sim/landlines", json={"number": PATIENT}).status_code == 200
    sid = _send(simulator, receiver)
    assert _statuses(receiver, sid, 2) == [("sent", None), ("undelivered", "30006")]
    assert simulator.sim.wait_idle(5)
    resource = _fetch(simulator, sid)
    assert (resource["status"], resource["error_code"]) == ("undelivered", 30006)


def test_a_landline_may_fail_outright(simulator: RunningSimulator, receiver: Receiver) -> None:
    simulator.http.post("/sim/landlines", json={"number": PATIENT, "status": "failed"})
    sid = _send(simulator, receiver)
    assert _statuses(receiver, sid, 1) == [("failed", "30006")]


def test_a_landline_can_be_removed(simulator: RunningSimulator, receiver: Receiver) -> None:
    simulator.http.post("/sim/landlines", json={"number": PATIENT})
    simulator.http.post("/sim/landlines", json={"number": "+14155550124"})
    assert simulator.http.delete(f"/sim/landlines/{PATIENT}").json()["removed"]
    simulator.http.post("/sim/landlines", json={"number": "+14155550124", "landline": False})
    assert simulator.http.get("/sim/landlines").json() == {}
    sid = _send(simulator, receiver)
    assert _statuses(receiver, sid, 2)[-1] == ("delivered", None)


def test_filter_links_mode_filters_texts_with_links(simulator: RunningSimulator,
                                                    receiver: Receiver) -> None:
    simulator.configure(filter_links=True)
    linked = _send(simulator, receiver, body="Book at https://bit.ly/abc now")
    plain = _send(simulator, receiver, body="See you at 9")
    assert _statuses(receiver, linked, 2)[-1] == ("undelivered", "30007")
    assert _statuses(receiver, plain, 2)[-1] == ("delivered", None)


def test_callbacks_can_be_late(simulator: RunningSimulator, receiver: Receiver) -> None:
    simulator.configure(callback_delay_ms=300)
    sid = _send(simulator, receiver)
    [entry] = simulator.http.get("/sim/log").json()
    first = _statuses(receiver, sid, 1) and receiver.received()[0]
    assert first.monotonic - entry["monotonic"] >= 0.29


def test_a_slow_webhook_never_blocks_a_create(simulator: RunningSimulator,
                                              receiver: Receiver) -> None:
    receiver.delay = 0.5
    _send(simulator, receiver)
    started = time.monotonic()
    for _ in range(3):
        _send(simulator, receiver)
    assert time.monotonic() - started < 0.4


def test_unreachable_callbacks_are_retried_then_given_up(simulator: RunningSimulator) -> None:
    sid = simulator.create(To=PATIENT, From=PRACTICE, Body="x",
                           StatusCallback="http://127.0.0.1:9/webhooks/twilio/status").json()["sid"]
    assert simulator.sim.wait_idle(10)
    results = simulator.http.get("/sim/callbacks", params={"sid": sid}).json()
    sent = [r for r in results if r["message_status"] == "sent"]
    assert [r["attempt"] for r in sent] == [1, 2, 3, 4]
    assert all(r["http_status"] is None and r["error"] for r in sent)
    assert [r["will_retry"] for r in sent] == [True, True, True, False]


# -- patients who reply ---------------------------------------------------------------------

def test_inbound_is_delivered_signed_and_answered(simulator: RunningSimulator,
                                                  receiver: Receiver) -> None:
    response = simulator.http.post("/sim/inbound", json={"from": PATIENT, "to": PRACTICE,
                                                         "body": "STOP"})
    assert response.status_code == 200
    answer = response.json()
    assert answer["status_code"] == 200 and re.fullmatch(r"SM[0-9a-f]{32}", answer["sid"])
    [call] = receiver.received("inbound")
    assert call.is_valid
    assert (call.params["From"], call.params["To"], call.params["Body"]) == (
        PATIENT, PRACTICE, "STOP")
    assert call.params["MessageSid"] == answer["sid"] == call.params["SmsMessageSid"]
    assert call.params["NumMedia"] == "0" and call.params["FromCountry"] == "US"
    documented = dict(parse_qsl((FIXTURES / "twilio_inbound_message.form").read_text()))
    assert set(call.params) >= set(documented)


def test_inbound_accepts_a_form(simulator: RunningSimulator, receiver: Receiver) -> None:
    response = simulator.http.post("/sim/inbound", data={"From": PATIENT, "To": PRACTICE,
                                                         "Body": "yes"})
    assert response.json()["status_code"] == 200
    assert receiver.received("inbound")[0].params["Body"] == "yes"


def test_inbound_needs_from_and_to(simulator: RunningSimulator) -> None:
    assert simulator.http.post("/sim/inbound", json={"body": "hi"}).status_code == 400


def test_inbound_to_an_unreachable_textdesk_is_502(simulator: RunningSimulator) -> None:
    simulator.sim.public_url = "http://127.0.0.1:9"
    response = simulator.http.post("/sim/inbound", json={"from": PATIENT, "to": PRACTICE,
                                                         "body": "hi"})
    assert response.status_code == 502 and response.json()["status_code"] is None


def test_inbound_into_the_same_server_cannot_deadlock() -> None:
    """Mounted in textdesk's own server, more concurrent patients than threadpool threads."""
    sim = create_simulator(AUTH_TOKEN, ACCOUNT_SID, "http://placeholder")
    app = FastAPI()
    app.include_router(sim.router)
    seen: list[str] = []
    lock = threading.Lock()

    @app.post("/webhooks/twilio/inbound")
    def inbound(request: Request) -> Response:  # sync: runs in the threadpool
        time.sleep(0.05)
        with lock:
            seen.append(request.headers.get("X-Twilio-Signature", ""))
        return Response("<Response/>", media_type="application/xml")

    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=20) as http:
        sim.public_url = url
        with ThreadPoolExecutor(60) as pool:
            answers = list(pool.map(lambda i: http.post("/sim/inbound", json={
                "from": PATIENT, "to": PRACTICE, "body": f"n{i}"}).json(), range(60)))
    sim.stop()
    assert [a["status_code"] for a in answers] == [200] * 60
    assert len(seen) == 60 and all(seen)


def test_our_forms_carry_every_documented_parameter() -> None:
    message = SimMessage(sid="SM" + "a" * 32, account_sid=ACCOUNT_SID, to=PATIENT,
                         from_=PRACTICE, body="hi", direction="inbound", status="received",
                         num_segments=1, date_created=datetime.now(UTC), monotonic=0.0)
    status = dict(parse_qsl((FIXTURES / "twilio_status_callback_sent.form").read_text()))
    inbound = dict(parse_qsl((FIXTURES / "twilio_inbound_message.form").read_text()))
    assert set(callback_params(message, "sent", None)) == set(status)
    assert set(callback_params(message, "undelivered", 30006)) == set(status) | {"ErrorCode"}
    assert set(inbound_params(message, "US", "US")) >= set(inbound)


def test_reset_drops_callbacks_still_in_flight(simulator: RunningSimulator,
                                               receiver: Receiver) -> None:
    receiver.delay = 0.3
    _send(simulator, receiver)
    wait_until(lambda: receiver.received())
    simulator.http.post("/sim/reset")
    assert simulator.sim.wait_idle(5)
    assert simulator.http.get("/sim/callbacks").json() == []
    assert len(receiver.received()) == 1
