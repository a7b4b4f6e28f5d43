"""Crashes around the carrier call: reconciled with the carrier, never silently resent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_database
from tests.e2e.conftest import LiveServer, start_live_server, stop_live_server
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch


@pytest.fixture
def idle_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server whose connector is not running: the test drives it by hand."""
    db = fresh_database(tmp_path)
    live, server = start_live_server(db, with_connector=False)
    try:
        yield live
    finally:
        stop_live_server(live, server)
        db.dispose()


def _queue_one(live: LiveServer, body: str) -> tuple[Any, int]:
    practice = live.practice()
    patient = live.patient(practice)
    r = live.http.post("/api/v1/messages", json={"patient_id": patient["id"], "body": body},
                       headers=practice.auth)
    assert r.status_code == 201
    return practice, r.json()["id"]


def _sim_log(live: LiveServer, body: str) -> list[dict[str, Any]]:
    return [e for e in live.sim("GET", "/sim/log").json() if e["body"] == body]


def test_crash_after_carrier_accepted_is_adopted_not_resent(idle_server: LiveServer) -> None:
    live, d = idle_server, idle_server.dispatcher
    practice, message_id = _queue_one(live, "Crash after accept")
    now = d.clock.now()
    [job] = dispatch.claim(live.db, d.connector_id, now, d.policy)
    accepted = dispatch.send_one(d.carrier, job, d.callback_url)  # then the process "dies"
    assert not isinstance(accepted, Exception)
    later = now + d.policy.lease + timedelta(seconds=1)
    assert dispatch.recover_expired(live.db, d.carrier, later) == 1
    message = live.message(practice, message_id)
    assert message["status"] in ("sent", "delivered")
    assert message["carrier_sid"] == accepted.sid
    assert any(h["source"] == "reconcile" for h in message["history"])
    d.drain()
    assert len(_sim_log(live, "Crash after accept")) == 1


def test_crash_before_the_carrier_call_is_requeued_and_sent_once(idle_server: LiveServer) -> None:
    live, d = idle_server, idle_server.dispatcher
    practice, message_id = _queue_one(live, "Crash before send")
    now = d.clock.now()
    dispatch.claim(live.db, d.connector_id, now, d.policy)  # claimed, then the process "dies"
    assert live.message(practice, message_id)["status"] == "sending"
    d.clock = FrozenClock(now + d.policy.lease + timedelta(seconds=1))
    dispatch.recover_expired(live.db, d.carrier, d.clock.now())
    assert live.message(practice, message_id)["status"] == "pending"
    d.drain()
    live.wait_status(practice, message_id, "delivered")
    assert len(_sim_log(live, "Crash before send")) == 1


def test_acknowledge_and_refresh(idle_server: LiveServer) -> None:
    live, d = idle_server, idle_server.dispatcher
    practice, message_id = _queue_one(live, "Retry me")
    live.sim("POST", "/sim/config", json={"fail_next": 1, "fail_status": 500})
    d.beat()
    d.run_once()
    waiting = live.message(practice, message_id)
    assert waiting["status"] == "pending"
    assert [h["code"] for h in waiting["holds"]] == ["carrier_retry"]
    connector = live.http.get("/api/v1/connector", headers=practice.auth).json()
    assert connector["pending_count"] == 1
    [error] = connector["errors"]
    assert not error["acknowledged"]
    r = live.http.post(f"/api/v1/connector/errors/{error['id']}/acknowledge",
                       headers=practice.auth)
    assert r.status_code == 200
    connector = live.http.get("/api/v1/connector", headers=practice.auth).json()
    assert connector["errors"][0]["acknowledged"]
    assert d.run_once() == 0  # still backing off
    r = live.http.post("/api/v1/connector/refresh", headers=practice.auth)
    assert r.json()["requeued"] == 1
    assert d.run_once() == 1
    live.wait_status(practice, message_id, "delivered")
    other = live.practice(name="Other", number="+14155550998")
    assert live.http.post(f"/api/v1/connector/errors/{error['id']}/acknowledge",
                          headers=other.auth).status_code == 404


def test_stop_during_a_transient_failure_cancels_instead_of_requeueing(
        idle_server: LiveServer) -> None:
    live, d = idle_server, idle_server.dispatcher
    practice, message_id = _queue_one(live, "In flight at STOP")
    [job] = dispatch.claim(live.db, d.connector_id, d.clock.now(), d.policy)
    r = live.sim("POST", "/sim/inbound", json={"from": "+14155550123", "to": practice.number,
                                               "body": "STOP"})
    assert r.status_code == 200
    from textdesk.carriers.base import CarrierError

    outcome = dispatch.record_refused(live.db, job, CarrierError("busy", http_status=503,
                                                                 is_transient=True),
                                      d.clock.now(), d.policy)
    assert outcome == "canceled"
    message = live.message(practice, message_id)
    assert message["status"] == "canceled" and message["canceled_reason"] == "opted_out"
