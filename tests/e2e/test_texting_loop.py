"""The whole loop over real HTTP: API → connector → simulator → signed callbacks, and back."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import LiveServer
from tests.helpers import Practice


def _send(live: LiveServer, practice: Practice, patient: dict[str, Any],
          body: str = "Your cleaning is tomorrow at 9.") -> dict[str, Any]:
    r = live.http.post("/api/v1/messages", json={"patient_id": patient["id"], "body": body},
                       headers=practice.auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_sent_text_is_delivered_with_history_and_commlog(live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice)
    queued = _send(live_server, practice, patient)
    assert queued["status"] == "pending"
    done = live_server.wait_status(practice, queued["id"], "delivered")
    assert done["carrier_sid"].startswith("SM")
    statuses = [h["status"] for h in done["history"]]
    assert statuses[:3] == ["pending", "sending", "sent"] and "delivered" in statuses
    logs = live_server.http.get(f"/api/v1/patients/{patient['id']}/commlogs",
                                headers=practice.auth).json()
    assert len(logs) == 1 and logs[0]["direction"] == "outbound"
    assert live_server.http.delete(f"/api/v1/commlogs/{logs[0]['id']}",
                                   headers=practice.auth).status_code == 204


def test_patient_reply_is_received_once_with_commlog(live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice)
    r = live_server.sim("POST", "/sim/inbound", json={"from": "+14155550123",
                                                      "to": practice.number,
                                                      "body": "Can I come at 10 instead?"})
    assert r.status_code == 200, r.text
    messages = live_server.http.get(f"/api/v1/patients/{patient['id']}/messages",
                                    headers=practice.auth).json()
    assert [(m["direction"], m["status"]) for m in messages] == [("inbound", "received")]
    logs = live_server.http.get(f"/api/v1/patients/{patient['id']}/commlogs",
                                headers=practice.auth).json()
    assert len(logs) == 1 and logs[0]["direction"] == "inbound"
    r = live_server.http.delete(f"/api/v1/commlogs/{logs[0]['id']}", headers=practice.auth)
    assert r.status_code == 409 and r.json()["error"] == "received_commlog_not_deletable"


def test_duplicated_and_reordered_callbacks_never_move_backwards(live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice)
    live_server.sim("POST", "/sim/config", json={"duplicate_callbacks": True,
                                                 "reorder_callbacks": True})
    queued = _send(live_server, practice, patient)
    done = live_server.wait_status(practice, queued["id"], "delivered")
    live_server.wait_for(lambda: len([h for h in live_server.message(practice, queued["id"])
                                      ["history"] if h["source"] == "callback"]) >= 2,
                         what="callbacks in history")
    final = live_server.message(practice, queued["id"])
    assert final["status"] == "delivered"
    callback_statuses = [h["status"] for h in final["history"] if h["source"] == "callback"]
    assert "sent" in callback_statuses and "delivered" in callback_statuses
    assert done["carrier_sid"] == final["carrier_sid"]


def test_carrier_5xx_is_retried_then_sent(live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice)
    live_server.sim("POST", "/sim/config", json={"fail_next": 1, "fail_status": 503})
    queued = _send(live_server, practice, patient)
    done = live_server.wait_status(practice, queued["id"], "delivered", timeout=15)
    statuses = [h["status"] for h in done["history"]]
    assert statuses.count("sending") == 2 and "pending" in statuses[1:]
    errors = live_server.http.get("/api/v1/connector", headers=practice.auth).json()["errors"]
    assert errors and errors[0]["code"] == "carrier_transient"
    assert "+1415" not in errors[0]["message"]  # no phone numbers in what staff logs show


def test_permanent_refusal_fails_at_once_with_cause(live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice, phone="+15005550002")  # Twilio: unreachable
    queued = _send(live_server, practice, patient)
    failed = live_server.wait_status(practice, queued["id"], "failed")
    assert failed["failure"]["cause"] == "recipient_unreachable"
    assert failed["failure"]["error_code"] == 21612 and failed["failure"]["fix"]
    assert [h["status"] for h in failed["history"]].count("sending") == 1


def test_callback_for_unknown_sid_is_kept(live_server: LiveServer) -> None:
    from textdesk.carriers.twilio import sign

    url = live_server.base_url + "/webhooks/twilio/status"
    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
    r = live_server.http.post("/webhooks/twilio/status", data=params, headers={
        "X-Twilio-Signature": sign(live_server.settings.twilio_auth_token, url, params)})
    assert r.status_code in (200, 204)
    from sqlalchemy import text

    with live_server.db.engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM message_events WHERE carrier_sid = :s"),
                            {"s": params["MessageSid"]}).scalar_one()
    assert kept == 1


def test_unsigned_or_badly_signed_webhooks_get_403_and_store_nothing(
        live_server: LiveServer) -> None:
    practice = live_server.practice()
    params = {"MessageSid": "SM" + "1" * 32, "From": "+14155550123", "To": practice.number,
              "Body": "hello"}
    assert live_server.http.post("/webhooks/twilio/inbound", data=params).status_code == 403
    r = live_server.http.post("/webhooks/twilio/inbound", data=params,
                              headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert r.status_code == 403
    from sqlalchemy import text

    with live_server.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM messages")).scalar_one() == 0


def test_connector_down_then_back_sends_each_once(live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice)
    live_server.dispatcher.stop()
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    with live_server.db.engine.begin() as conn:  # the last heartbeat is long ago
        conn.execute(text("UPDATE connector_heartbeats SET last_heartbeat_at = :t"),
                     {"t": (datetime.now(UTC) - timedelta(minutes=5)).replace(tzinfo=None)})
    assert live_server.http.get("/api/v1/connector",
                                headers=practice.auth).json()["status"] == "down"
    ids = [_send(live_server, practice, patient, f"Text {i}")["id"] for i in range(5)]
    held = live_server.message(practice, ids[0])
    assert held["status"] == "pending" and held["holds"][0]["code"] == "connector_down"
    from textdesk.connector.dispatcher import Dispatcher

    revived = Dispatcher(live_server.db, live_server.dispatcher.carrier, live_server.settings)
    revived.start()
    try:
        for message_id in ids:
            live_server.wait_status(practice, message_id, "delivered")
        assert live_server.http.get("/api/v1/connector",
                                    headers=practice.auth).json()["status"] == "working"
    finally:
        revived.stop()
    log = live_server.sim("GET", "/sim/log").json()
    bodies = [entry["body"] for entry in (log if isinstance(log, list) else log["messages"])]
    assert sorted(bodies) == sorted(f"Text {i}" for i in range(5))


def test_test_text_to_yourself_goes_through(live_server: LiveServer) -> None:
    practice = live_server.practice()
    r = live_server.http.post("/api/v1/messages/test", json={"to": "+14155550100"},
                              headers=practice.auth)
    assert r.status_code == 201, r.text
    done = live_server.wait_status(practice, r.json()["id"], "delivered")
    assert done["kind"] == "test" and done["to"] == "+14155550100"
