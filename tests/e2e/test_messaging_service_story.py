"""A clinic sending through a Twilio Messaging Service, over real HTTP with the simulator.

Texts go out with `MessagingServiceSid` and no `From` (the carrier picks the sender from the
service's pool, the same one for the same patient); status callbacks and replies that name the
service are matched to the clinic, even from a pool number textdesk does not list.
"""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.conftest import LiveServer
from tests.helpers import ADMIN
from textdesk.storage.models import Message

SERVICE = "MG" + "ab" * 16
POOL = ["+14155550301", "+14155550302"]
PHONE = "+14155550123"


def test_texts_and_replies_go_through_the_clinics_messaging_service(live_server: LiveServer
                                                                   ) -> None:
    live = live_server
    practice = live.practice()
    patient = live.patient(practice)
    assert live.sim("POST", "/sim/messaging-services",
                    json={"sid": SERVICE, "numbers": POOL}).status_code == 200
    r = live.http.patch(f"/api/v1/numbers/{practice.number_id}",
                        json={"messaging_service_sid": SERVICE}, headers=practice.auth)
    assert r.status_code == 200 and r.json()["messaging_service_sid"] == SERVICE

    sent = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                    "body": "Your crown is ready."},
                          headers=practice.auth)
    assert sent.status_code == 201, sent.text
    live.wait_status(practice, sent.json()["id"], "delivered")  # its callbacks matched
    (log,) = live.sim("GET", "/sim/log", params={"to": PHONE}).json()
    assert log["messaging_service_sid"] == SERVICE and log["from"] in POOL
    callbacks = live.sim("GET", "/sim/callbacks").json()
    assert callbacks and all(c["http_status"] in (200, 204) for c in callbacks)

    # The patient answers the pool number the carrier chose: textdesk never listed it.
    reply = live.sim("POST", "/sim/inbound", json={"from": PHONE, "to": log["from"],
                                                   "body": "Thanks, see you"})
    assert reply.status_code == 200 and reply.json()["status_code"] == 200
    with live.db.transaction() as session:
        (inbound,) = session.scalars(select(Message).where(Message.direction == "inbound"))
        assert (inbound.practice_id, inbound.patient_id, inbound.number_id) == (
            practice.id, patient["id"], practice.number_id)


def test_a_messaging_service_without_approved_registration_blocks(live_server: LiveServer
                                                                  ) -> None:
    live = live_server
    practice = live.practice()
    patient = live.patient(practice)
    live.http.patch(f"/api/v1/numbers/{practice.number_id}",
                    json={"messaging_service_sid": SERVICE}, headers=practice.auth)
    live.http.put(f"/api/v1/admin/numbers/{practice.number_id}/registration",
                  json={"status": "pending"}, headers=ADMIN)
    verdict = live.http.get(f"/api/v1/patients/{patient['id']}/can-text",
                            headers=practice.auth).json()
    (blocker,) = [b for b in verdict["blockers"] if b["code"] == "messaging_not_approved"]
    assert blocker["message"].startswith("The clinic's messaging service has no approved")


def test_a_service_the_carrier_does_not_know_fails_with_its_cause(live_server: LiveServer
                                                                  ) -> None:
    live = live_server
    practice = live.practice()
    patient = live.patient(practice)
    live.http.patch(f"/api/v1/numbers/{practice.number_id}",
                    json={"messaging_service_sid": "MG" + "cd" * 16}, headers=practice.auth)
    sent = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                    "body": "Your crown is ready."},
                          headers=practice.auth)
    failed = live.wait_status(practice, sent.json()["id"], "failed")
    assert failed["failure"]["error_code"] == 21701
    assert failed["failure"]["cause"] == "sender_invalid"
