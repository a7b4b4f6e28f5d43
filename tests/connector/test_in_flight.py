"""The in-flight window against the carrier simulator: many creates at once, each text once,
the account's pace never exceeded, the carrier's 429 answered by slowing down, not failing."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import fresh_database
from tests.e2e.conftest import (
    LiveServer,
    start_live_server,
    stop_live_server,
    wait_until_none_waiting,
)
from textdesk.connector.in_flight import MAX_PAUSE, Gate, Lane
from textdesk.consent import service as consent_service
from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.messages import MessageKind
from textdesk.kit.clock import Clock
from textdesk.messaging.service import queue_message
from textdesk.storage import directory as practice_store

pytestmark = [pytest.mark.slow]
PHONES = 100
PACE = 30.0  # the capped account's segments a second: below what the connector reaches here


def _live(tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    live, server = start_live_server(fresh_database(tmp_path), with_connector=False, **settings)
    try:
        yield live
    finally:
        stop_live_server(live, server)


@pytest.fixture
def wide(tmp_path: Path) -> Iterator[LiveServer]:
    yield from _live(tmp_path, connector_in_flight=500, connector_batch_size=250)


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[LiveServer]:
    yield from _live(tmp_path, connector_in_flight=200,
                     carrier_account_segments_per_second=PACE)


def _queue(live: LiveServer, count: int) -> str:
    """`count` automated texts to 100 consenting phones, each body unique; the sending number."""
    practice = live.practice()
    now = Clock().now()
    with live.db.transaction() as session:
        row = practice_store.get_practice(session, practice.id)
        clinic = practice_store.first_clinic(session, practice.id)
        sending = practice_store.number_by_e164(session, practice.number)
        assert row is not None and clinic is not None and sending is not None
        for i in range(PHONES):
            consent_service.record(session, practice.id, f"+1415555{i:04d}",
                                   ConsentAction.OPT_IN, ConsentScope.ALL,
                                   ConsentSource.WEB_FORM, now=now)
        for i in range(count):
            queue_message(session, row, to_e164=f"+1415555{i % PHONES:04d}",
                          from_e164=practice.number, number_id=sending.id,
                          clinic_id=clinic.id, body=f"in flight #{i}",
                          kind=MessageKind.AUTOMATED, now=now)
    return practice.number


def _drain(live: LiveServer, count: int, timeout: float) -> list[dict[str, Any]]:
    """Run the connector until no text is waiting; the simulator's log of our texts."""
    live.dispatcher.start()
    wait_until_none_waiting(live.db, timeout, poll=0.2)
    entries = [e for e in live.sim("GET", "/sim/log").json()
               if e["body"].startswith("in flight #")]
    per_body = Counter(e["body"] for e in entries)
    assert len(per_body) == count, "a text never reached the carrier"
    assert max(per_body.values()) == 1, "a text reached the carrier twice"
    with live.db.engine.connect() as conn:
        statuses = dict(conn.execute(text(
            "SELECT status, count(*) FROM messages GROUP BY status")).all())
    assert set(statuses) <= {"sent", "delivered"}, statuses
    return entries


def test_hundreds_in_flight_against_a_slow_carrier_each_text_once(wide: LiveServer) -> None:
    count = 1500
    _queue(wide, count)
    wide.sim("POST", "/sim/config", json={"latency_ms": 200, "latency_jitter_ms": 50})
    started = time.monotonic()
    _drain(wide, count, timeout=120)
    elapsed = time.monotonic() - started
    meter = wide.sim("GET", "/sim/meter").json()
    # Eight threads (the old send path) could never hold more than 8 creates at once, nor
    # pass 40 texts/s at 200 ms a create.
    assert meter["peak_in_flight"] >= 200, meter
    assert wide.dispatcher.window.peak >= 200
    # Texts claimed ahead wait for a place: the carrier never has more than the window.
    assert meter["peak_in_flight"] <= wide.dispatcher.window.size == 500, meter
    print(f"{count} texts at 200 ms in {elapsed:.1f} s: {count / elapsed:.0f}/s, "
          f"{meter['peak_in_flight']} creates in flight at the most")


def test_the_accounts_pace_is_never_exceeded_in_any_second(capped: LiveServer) -> None:
    count = 240
    _queue(capped, count)
    capped.sim("POST", "/sim/config", json={"latency_ms": 100})
    entries = _drain(capped, count, timeout=90)
    arrivals = sorted(e["monotonic"] for e in entries)
    busiest = max(sum(1 for t in arrivals[i:] if t < start + 1.0)
                  for i, start in enumerate(arrivals))
    assert busiest <= PACE, f"{busiest} creates in one second under a pace of {PACE}"
    rate = (count - 1) / (arrivals[-1] - arrivals[0])
    assert rate >= PACE / 2, f"{rate:.0f} creates/s: the pace is not used"


def test_a_carrier_saying_too_many_slows_the_sender_and_fails_nothing(wide: LiveServer) -> None:
    count = 600
    _queue(wide, count)
    wide.sim("POST", "/sim/config", json={"latency_ms": 20, "account_creates_per_second": 150})
    _drain(wide, count, timeout=90)
    meter = wide.sim("GET", "/sim/meter").json()
    assert meter["refused_for_rate"] > 0, "the carrier never said too many: nothing was tested"


def test_a_lane_pauses_longer_each_refusal_in_a_row_and_only_once_per_refusal() -> None:
    lane = Lane()
    lane.throttled(10.0)
    first = lane.open_at - 10.0
    lane.throttled(10.0)  # a text of the same lane refused while the pause runs: no new step
    assert lane.open_at - 10.0 == first
    lane.throttled(lane.open_at)
    assert lane.pause == pytest.approx(first * 2)
    for _ in range(20):
        lane.throttled(lane.open_at)
    assert lane.pause == MAX_PAUSE
    lane.answered()
    assert lane.pause == 0


def test_the_gate_spaces_texts_by_the_accounts_pace() -> None:
    now = [100.0]
    gate = Gate(account_rate=10.0, clock=lambda: now[0])
    assert gate.delay("+14155550100", 1) == 0
    wait = gate.delay("+14155550101", 1)
    assert 0.1 <= wait <= 0.11  # the next slot: a tenth of a second, and the margin
    now[0] += wait
    assert gate.delay("+14155550101", 1) == 0
    assert Gate().delay("+14155550100", 5) == 0  # no account pace: nothing waits


def _send_async(carrier: Any, body: str = "hi", **options: Any) -> Any:
    """One create on a loop of its own, in a thread of its own: an earlier test in the same
    process may have left an event loop running in this one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def one() -> Any:
        try:
            return await carrier.send_async(from_="+14155550100", to="+14155550101", body=body,
                                            status_callback="", **options)
        finally:
            await carrier.aclose()
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(one())).result()


def test_an_in_flight_create_carries_the_form_twilio_reads(wide: LiveServer) -> None:
    """Accents, emoji, '&', '=' and '+' arrive as written; each file is its own MediaUrl."""
    from textdesk.carriers.twilio import TwilioCarrier

    practice = wide.practice(number="+14155550100")
    assert practice.number == "+14155550100"
    body = "Café 😀 & a = b + c, 100% sure?"
    media = ["https://example.org/a.jpg?x=1&y=2", "https://example.org/b.png"]
    carrier = TwilioCarrier(wide.settings.twilio_account_sid, wide.settings.twilio_auth_token,
                            wide.base_url)
    accepted = _send_async(carrier, body, media_urls=media, validity_seconds=600)
    [entry] = [e for e in wide.sim("GET", "/sim/log").json() if e["sid"] == accepted.sid]
    assert entry["body"] == body and entry["to"] == "+14155550101"
    assert entry["media_urls"] == media and entry["validity_period"] == 600


def test_an_unreachable_carrier_is_never_taken_and_a_silent_one_may_be() -> None:
    import socket

    from textdesk.carriers.base import CarrierError
    from textdesk.carriers.twilio import TwilioCarrier

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(CarrierError) as refused:
        _send_async(TwilioCarrier("AC" + "0" * 32, "token", f"http://127.0.0.1:{port}"))
    assert refused.value.is_transient and not refused.value.maybe_taken
    with socket.socket() as silent:  # accepts the connection, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(CarrierError) as lost:
            _send_async(TwilioCarrier("AC" + "0" * 32, "token", url, timeout=0.5))
    assert lost.value.is_transient and lost.value.maybe_taken


def test_the_window_takes_no_more_than_the_accounts_pace_sends_while_texts_wait() -> None:
    from textdesk.carriers.twilio import TwilioCarrier
    from textdesk.connector.in_flight import MAX_WAIT, Window

    carrier = TwilioCarrier("AC" + "0" * 32, "token", "http://127.0.0.1:9")
    open_window = Window(carrier, 200, "", lambda ids: [])
    slow = Window(carrier, 200, "", lambda ids: [], account_rate=10.0)
    try:
        # Its places and a backlog of a quarter of them, claimed ahead of a free place.
        assert open_window.room(0) == 250 and open_window.room(150) == 100
        assert open_window.room(250) == 0
        assert slow.room(0) == int(10 * MAX_WAIT / 2)  # 25: each leaves within MAX_WAIT
        assert slow.room(30) == 0
    finally:
        open_window.close()
        slow.close()


def _paced_campaign(live: LiveServer, number: str, segments_per_second: float) -> str:
    """A practice whose number the carrier granted `segments_per_second`, and a campaign of
    16 texts from it to consenting daytime phones; its number."""
    from tests.e2e.test_campaign_pacing import daytime_phones

    practice = live.practice(number=number)
    r = live.http.put(f"/api/v1/admin/numbers/{practice.number_id}/pace",
                      json={"segments_per_second": segments_per_second})
    assert r.status_code == 200, r.text
    r = live.http.patch("/api/v1/practice", headers=practice.auth,
                        json={"allowed_countries": ["US", "GU", "DE"]})
    assert r.status_code == 200, r.text
    for i, phone in enumerate(daytime_phones()):
        patient = live.patient(practice, phone, first_name=f"Paced{i}")
        r = live.http.post(f"/api/v1/patients/{patient['id']}/consent", headers=practice.auth,
                           json={"action": "opt_in", "scope": "marketing",
                                 "source": "web_form"})
        assert r.status_code == 201, r.text
    r = live.http.post("/api/v1/campaigns", headers=practice.auth, json={
        "name": "Paced", "body": "Hi {first_name}, time for a cleaning. Reply STOP to opt out."})
    assert r.status_code == 201, r.text
    return practice.number


def test_five_hundred_in_flight_each_text_once_each_number_within_its_pace(
        wide: LiveServer) -> None:
    """The window holds up to 500 creates against a 200 ms carrier while two campaigns'
    numbers keep their granted paces: no second holds more of a number's texts than its pace."""
    count = 2000
    paces = {_paced_campaign(wide, f"+1415555020{i}", rate): rate
             for i, rate in enumerate((4.0, 8.0))}
    _queue(wide, count)
    wide.sim("POST", "/sim/config", json={"latency_ms": 200, "latency_jitter_ms": 50})
    _drain(wide, count, timeout=180)
    assert 400 <= wide.dispatcher.window.peak <= 500, wide.dispatcher.window.peak
    assert wide.sim("GET", "/sim/meter").json()["peak_in_flight"] <= 500
    log = wide.sim("GET", "/sim/log").json()
    for number, rate in paces.items():
        arrivals = sorted(e["monotonic"] for e in log if e["from"] == number)
        assert len(arrivals) == 16, f"{len(arrivals)} of a campaign's 16 texts reached the carrier"
        bodies = Counter(e["body"] for e in log if e["from"] == number)
        assert max(bodies.values()) == 1, "a campaign text reached the carrier twice"
        busiest = max(sum(1 for t in arrivals[i:] if t < start + 1.0)
                      for i, start in enumerate(arrivals))
        assert busiest <= rate, f"{busiest} texts in one second from a number paced {rate}/s"
        print(f"{number}: paced {rate}/s, at most {busiest} in any second; "
              f"{wide.dispatcher.window.peak} creates in flight at the most")


def test_a_send_that_breaks_without_an_answer_is_looked_up_then_sent_once(
        wide: LiveServer) -> None:
    """A defect in the send path (not the carrier's answer) leaves the text neither lost nor
    sent twice: it is held as maybe taken, looked up at the carrier, then sent."""
    from textdesk.carriers.twilio import TwilioCarrier
    from textdesk.connector.dispatcher import Dispatcher

    class BreaksOnce(TwilioCarrier):
        broke = 0

        async def send_async(self, **kwargs: Any) -> Any:
            if not self.broke:
                self.broke += 1
                raise RuntimeError("a defect")
            return await super().send_async(**kwargs)

    _queue(wide, 1)
    carrier = BreaksOnce(wide.settings.twilio_account_sid, wide.settings.twilio_auth_token,
                         wide.base_url, timeout=15)
    dispatcher = Dispatcher(wide.db, carrier, wide.settings)
    dispatcher.start()
    try:
        wait_until_none_waiting(wide.db, 30, poll=0.2)
        with wide.db.engine.connect() as conn:
            held = conn.execute(text("SELECT count(*) FROM connector_errors "
                                     "WHERE code = 'carrier_no_answer'")).scalar()
            status = conn.execute(text("SELECT status FROM messages")).scalar()
    finally:
        dispatcher.stop()
    assert carrier.broke == 1 and held == 1
    assert status in ("sent", "delivered")
    entries = [e for e in wide.sim("GET", "/sim/log").json() if e["body"] == "in flight #0"]
    assert len(entries) == 1
