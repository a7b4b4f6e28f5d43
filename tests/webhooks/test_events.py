"""Events from the code paths the live story does not walk: a confirmation by the patient's
reply, texts canceled by a STOP, a lead coming in (no stage event), a reason typed by staff."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.automation.support import patient, template
from tests.automation.test_confirmations import ASK
from tests.automation.test_reminders import book, rule
from tests.consent.support import text_in
from tests.helpers import make_practice
from tests.webhooks.conftest import subscribe
from tests.webhooks.receiver import Receiver
from textdesk.automation import reminders
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.webhooks.delivery import Deliverer

PHONE = "+12125550100"
RECEIVED_KEYS = sorted(["message_id", "status", "direction", "patient_id", "patient_ids",
                        "lead_id", "conversation_id", "clinic_id", "number_id", "carrier_sid",
                        "segments", "received_at"])


def test_a_confirmation_by_reply_and_the_stop_that_cancels_its_reminder(
        client: TestClient, db: Database, clock: FrozenClock, receiver: Receiver,
        deliverer: Deliverer) -> None:
    practice = make_practice(client)
    pid = patient(client, practice, PHONE, first_name="Ana")
    rule(client, practice, template(client, practice, ASK, "confirmation"), lead="2d")
    appt = book(client, practice, pid, "2026-03-03T15:00:00-05:00")
    reminders.run(db, clock.now())  # the confirmation request waits to go out
    subscribe(client, practice, receiver, "/hook")
    text_in(client, practice, PHONE, "C")  # before the request even left: still confirms
    text_in(client, practice, PHONE, "STOP")
    deliverer.run(db, clock.now())
    events = receiver.events("/hook")
    assert receiver.bad_signatures == 0
    [confirmed] = [e["data"] for e in events if e["type"] == "appointment.confirmed"]
    assert (confirmed["appointment_id"], confirmed["patient_id"], confirmed["via"],
            confirmed["status"]) == (appt, pid, "reply", "confirmed")
    canceled = [e["data"] for e in events if e["type"] == "message.status_changed"]
    assert canceled and all((d["status"], d["previous_status"], d["cancel_reason"]) ==
                            ("canceled", "pending", "opted_out") for d in canceled
                            if d["kind"] != "compliance")
    [opt_out] = [e["data"] for e in events if e["type"] == "consent.changed"]
    assert (opt_out["action"], opt_out["state"], opt_out["patient_ids"]) == (
        "opt_out", "opted_out", [pid])
    assert [sorted(e["data"]) for e in events if e["type"] == "message.received"] == [
        RECEIVED_KEYS, RECEIVED_KEYS]  # no body, no phone


def test_a_lead_coming_in_is_not_a_stage_change_and_reasons_stay_home(
        client: TestClient, db: Database, clock: FrozenClock, receiver: Receiver,
        deliverer: Deliverer) -> None:
    practice = make_practice(client)
    subscribe(client, practice, receiver, "/hook", events=["lead.stage_changed",
                                                           "message.received"])
    r = client.post("/api/v1/leads", headers=practice.auth, json={
        "first_name": "Lee", "phone": "(415) 555-0177", "clinic_id": practice.clinic_id})
    assert r.status_code == 201, r.text
    lead = r.json()["id"]
    r = client.patch(f"/api/v1/leads/{lead}", headers=practice.auth,
                     json={"stage": "closed_lost", "reason": "moved away, call 555-0199"})
    assert r.status_code == 200, r.text
    deliverer.run(db, clock.now())
    [moved] = receiver.events("/hook")
    assert moved["type"] == "lead.stage_changed"
    assert (moved["data"]["previous_stage"], moved["data"]["stage"],
            moved["data"]["changed_by"]) == ("new", "closed_lost", "staff")
    assert "reason" not in moved["data"] and "555" not in str(moved)
