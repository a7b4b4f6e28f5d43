"""The lead story over real HTTP (D1–D4): a lead comes in, staff text it, it replies through the
carrier simulator, it books and is closed won; its next replies get one redirect to the clinic,
and staff can no longer text in the lead thread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import LiveServer
from tests.helpers import Practice

LEAD_PHONE = "+14155550177"
CLINIC_PHONE_SHOWN = "(415) 555-0100"  # the clinic make_practice creates


def _lead(live: LiveServer, practice: Practice, lead_id: int) -> dict[str, Any]:
    r = live.http.get(f"/api/v1/leads/{lead_id}", headers=practice.auth)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def _texts_to_lead(live: LiveServer) -> list[dict[str, Any]]:
    return [e for e in live.sim("GET", "/sim/log").json() if e["to"] == LEAD_PHONE]


def _reply(live: LiveServer, practice: Practice, body: str) -> None:
    r = live.sim("POST", "/sim/inbound", json={"from": LEAD_PHONE, "to": practice.number,
                                               "body": body})
    assert r.status_code == 200, r.text


def test_a_lead_is_texted_books_and_its_closed_thread_redirects(
        live_server: LiveServer) -> None:
    live = live_server
    practice = live.practice()
    auth = practice.auth

    # A web-form lead comes in, with the consent the form collected.
    r = live.http.post("/api/v1/leads", json={"first_name": "Lee", "last_name": "Ray",
                                              "phone": "(415) 555-0177",
                                              "clinic_id": practice.clinic_id,
                                              "source": "web_form"}, headers=auth)
    assert r.status_code == 201, r.text
    lead_id = r.json()["id"]
    r = live.http.post(f"/api/v1/leads/{lead_id}/consent",
                       json={"action": "opt_in", "scope": "all", "source": "web_form"},
                       headers=auth)
    assert r.status_code == 201, r.text

    # Staff text the lead from the clinic's approved number; it is delivered.
    r = live.http.post("/api/v1/messages", json={"lead_id": lead_id,
                                                 "body": "Hi Lee, this is Main. When suits?"},
                       headers=auth)
    assert r.status_code == 201, r.text
    done = live.wait_status(practice, r.json()["id"], "delivered")
    assert done["from"] == practice.number and done["lead_id"] == lead_id
    assert _lead(live, practice, lead_id)["stage"] == "contacted"

    # The person answers through the carrier.
    _reply(live, practice, "Thursday morning works for me")
    assert _lead(live, practice, lead_id)["stage"] == "engaged"
    thread = live.http.get(f"/api/v1/leads/{lead_id}/messages", headers=auth).json()
    assert [m["direction"] for m in thread] == ["outbound", "inbound"]

    # Staff book the appointment: the lead is closed won and is now a patient.
    start = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    r = live.http.post("/api/v1/appointments", json={"lead_id": lead_id,
                                                     "clinic_id": practice.clinic_id,
                                                     "start": start, "provider": "Dr. Kim"},
                       headers=auth)
    assert r.status_code == 201, r.text
    lead = _lead(live, practice, lead_id)
    assert lead["stage"] == "closed_won" and lead["patient_id"] == r.json()["patient_id"]
    assert lead["stage_history"][-1]["by"] == "automation"

    # The person replies twice: both are kept, one redirect goes out with the clinic's phone.
    _reply(live, practice, "Great, thanks! Should I bring anything?")
    _reply(live, practice, "Also, is parking free?")
    redirect = live.wait_for(
        lambda: [e for e in _texts_to_lead(live) if CLINIC_PHONE_SHOWN in e["body"]],
        what="the redirect text at the carrier")
    assert len(redirect) == 1 and redirect[0]["from"] == practice.number
    thread = live.http.get(f"/api/v1/leads/{lead_id}/messages", headers=auth).json()
    assert [(m["direction"], m["kind"]) for m in thread] == [
        ("outbound", "manual"), ("inbound", "inbound"), ("inbound", "inbound"),
        ("outbound", "system"), ("inbound", "inbound")]
    live.wait_status(practice, thread[3]["id"], "delivered")
    assert _lead(live, practice, lead_id)["stage"] == "closed_won"  # not reopened

    # Staff texting in the lead thread is refused, and says why and what to do.
    r = live.http.post("/api/v1/messages", json={"lead_id": lead_id, "body": "Hi again!"},
                       headers=auth)
    assert r.status_code == 422
    assert [b["code"] for b in r.json()["blockers"]] == ["lead_inactive_stage"]
    assert r.json()["blockers"][0]["fix"] == (
        "Phone the patient from the office, or reopen the lead on the Leads board.")
    assert len(_texts_to_lead(live)) == 2  # the staff text and the one redirect, nothing else
