"""'Why can't I text?' through the API: can-text (H1), the send path, per-message why (H2),
what the carrier taught (B7), the spending limit (A4) and the connector's second look."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import ADMIN, Practice, make_patient, make_practice
from textdesk.carriers.base import Accepted, CarrierError
from textdesk.domain.messages import MessageKind
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch
from textdesk.messaging.recipients import patient_recipient
from textdesk.messaging.service import send_text
from textdesk.storage.db import Database
from textdesk.storage.models import RefusedSend

POLICY = dispatch.DispatchPolicy()


def can_text(client: TestClient, practice: Practice, patient_id: int,
             body: str | None = None) -> dict[str, Any]:
    params = {"body": body} if body is not None else {}
    r = client.get(f"/api/v1/patients/{patient_id}/can-text", params=params,
                   headers=practice.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def post(client: TestClient, practice: Practice, patient_id: int, body: str = "See you soon."):
    return client.post("/api/v1/messages", json={"patient_id": patient_id, "body": body},
                       headers=practice.auth)


def codes(reasons: list[dict[str, str]]) -> list[str]:
    return [r["code"] for r in reasons]


def refusals(db: Database) -> list[RefusedSend]:
    with db.transaction() as session:
        return list(session.scalars(select(RefusedSend).order_by(RefusedSend.id)))


def carrier_answers(db: Database, clock: FrozenClock, error_code: int | None = None) -> int:
    """Run the connector's claim and record the carrier's answer for each claimed text."""
    jobs = dispatch.claim(db, "connector-test", clock.now(), POLICY)
    if error_code is None:
        dispatch.record_accepted(db, [(j, Accepted(f"SM{j.id:032x}", "queued")) for j in jobs],
                                 clock.now())
    for job in jobs if error_code is not None else []:
        dispatch.record_refused(db, job, CarrierError("refused", error_code=error_code,
                                                      http_status=400), clock.now(), POLICY)
    return len(jobs)


def test_can_text_lists_blockers_holds_and_warnings_at_once(client: TestClient) -> None:
    practice = make_practice(client, approved=False)
    patient = make_patient(client, practice, "(555) 123-4567", opted_in=False)
    verdict = can_text(client, practice, patient["id"], body="Book at bit.ly/x 😀")
    assert verdict["can_text"] is False
    assert codes(verdict["blockers"]) == ["messaging_not_approved", "phone_invalid",
                                          "not_opted_in"]
    assert verdict["blockers"][1] == {"code": "phone_invalid",
                                      "message": "Area code 555 is not in service.",
                                      "fix": "Correct the country or area code."}
    assert codes(verdict["holds"]) == ["connector_down"]
    assert codes(verdict["warnings"]) == ["url_in_manual_text", "link_shortener",
                                          "unicode_characters"]
    assert verdict["content"]["encoding"] == "UCS-2" and verdict["content"]["segments"] == 1
    assert all(set(r) == {"code", "message", "fix"} for r in verdict["warnings"])


def test_a_ready_patient_can_be_texted(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    verdict = can_text(client, practice, patient["id"])
    assert verdict["can_text"] is True and verdict["blockers"] == []
    assert "content" not in verdict


def test_refused_send_is_422_nothing_sent_and_the_attempt_kept(client: TestClient,
                                                               db: Database) -> None:
    practice = make_practice(client, sms_enabled=False)
    patient = make_patient(client, practice, opted_in=False)
    r = post(client, practice, patient["id"], "")
    assert r.status_code == 422
    assert r.json()["error"] == "send_blocked"
    assert codes(r.json()["blockers"]) == ["sms_not_enabled", "not_opted_in", "body_empty"]
    assert client.get(f"/api/v1/patients/{patient['id']}/messages",
                      headers=practice.auth).json() == []
    (kept,) = refusals(db)
    assert (kept.practice_id, kept.patient_id, kept.kind, kept.actor) == (
        practice.id, patient["id"], "manual", "api")
    assert kept.codes == ["sms_not_enabled", "not_opted_in", "body_empty"]


def test_a_refused_test_text_is_kept_too(client: TestClient, db: Database) -> None:
    practice = make_practice(client, sms_enabled=False)
    r = client.post("/api/v1/messages/test", json={"to": "(415) 555-0100"},
                    headers=practice.auth)
    assert r.status_code == 422 and codes(r.json()["blockers"]) == ["sms_not_enabled"]
    assert [(k.kind, k.codes) for k in refusals(db)] == [("test", ["sms_not_enabled"])]


def test_phone_problems_through_the_api(client: TestClient) -> None:
    practice = make_practice(client)
    cases = {
        "call me": ("phone_unparseable", '"ca…me" has no digits, so it is not a phone number.'),
        "(555) 123-4567": ("phone_invalid", "Area code 555 is not in service."),
        "+44 20 7946 0018": ("phone_landline",
                             "The numbering plan of the United Kingdom lists this number as a "
                             "landline, which cannot receive texts."),
        None: ("no_wireless_phone", "There is no wireless phone on file."),
    }
    for phone, (code, message) in cases.items():
        patient = make_patient(client, practice, phone, opted_in=False)
        blockers = can_text(client, practice, patient["id"])["blockers"]
        assert blockers[0]["code"] == code and blockers[0]["message"] == message, phone


def test_a_toll_free_sending_number_is_accepted_and_texts(client: TestClient) -> None:
    practice = make_practice(client, number="+1 (800) 555-0199", kind="toll_free")
    assert practice.number == "+18005550199"
    patient = make_patient(client, practice)
    assert can_text(client, practice, patient["id"])["can_text"] is True
    r = client.post(f"/api/v1/clinics/{practice.clinic_id}/numbers",
                    json={"e164": "(555) 123-4567", "kind": "local"}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["message"] == "Area code 555 is not in service."


def test_allowed_countries_decide_eligibility(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice, "+1 416 555 0123")
    assert can_text(client, practice, patient["id"])["can_text"] is True
    client.patch("/api/v1/practice", json={"allowed_countries": ["US", "PR"]},
                 headers=practice.auth)
    blockers = can_text(client, practice, patient["id"])["blockers"]
    assert blockers == [{
        "code": "country_not_eligible",
        "message": "The number is in Canada (CA), which is not among the practice's allowed "
                   "countries (PR, US).",
        "fix": "Use a number in an allowed country, or allow the country in Settings."}]
    assert post(client, practice, patient["id"]).status_code == 422


def test_the_default_country_reads_numbers_typed_without_a_plus(client: TestClient) -> None:
    practice = make_practice(client)
    r = client.patch("/api/v1/practice", json={"default_country": "GB",
                                               "allowed_countries": ["GB"]},
                     headers=practice.auth)
    assert r.status_code == 200
    patient = make_patient(client, practice, "07400 123456")
    assert patient["phone"] == "+447400123456" and patient["wireless_phone"] == "07400 123456"
    assert can_text(client, practice, patient["id"])["can_text"] is True
    us = make_patient(client, practice, "+1 415 555 0123", first_name="Al")
    assert codes(can_text(client, practice, us["id"])["blockers"]) == ["country_not_eligible"]


def test_url_policy_warns_or_blocks_manual_links(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    r = post(client, practice, patient["id"], "Forms: https://forms.example.org/new")
    assert r.status_code == 201 and codes(r.json()["warnings"]) == ["url_in_manual_text"]
    client.patch("/api/v1/practice", json={"url_policy": "block"}, headers=practice.auth)
    r = post(client, practice, patient["id"], "Forms: https://forms.example.org/new")
    assert r.status_code == 422 and codes(r.json()["blockers"]) == ["url_in_manual_text"]
    client.patch("/api/v1/practice", json={"link_domain": "example.org"}, headers=practice.auth)
    assert post(client, practice, patient["id"], "Forms: https://forms.example.org/new"
                ).status_code == 201


def test_accepted_response_shows_encoding_segments_and_cost(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    r = post(client, practice, patient["id"], "é" * 100 + "€" * 40)  # 180 septets
    assert r.status_code == 201
    body = r.json()
    assert (body["encoding"], body["segments"], body["cost_usd"]) == ("GSM-7", 2, 0.0158)
    assert codes(body["warnings"]) == ["multi_segment"]
    r = post(client, practice, patient["id"], "a" * 1601)
    assert r.status_code == 422 and codes(r.json()["blockers"]) == ["body_too_long"]


def test_landline_finding_sticks_until_staff_edit_the_phone(client: TestClient, db: Database,
                                                             clock: FrozenClock) -> None:
    """B4 + B7: the carrier says landline; sends are refused; editing the phone clears it."""
    practice = make_practice(client)
    patient = make_patient(client, practice)
    sent = post(client, practice, patient["id"]).json()
    assert carrier_answers(db, clock, error_code=21614) == 1
    failed = client.get(f"/api/v1/messages/{sent['id']}", headers=practice.auth).json()
    assert failed["status"] == "failed"
    assert failed["failure"] == {"cause": "recipient_landline", "error_code": 21614,
                                 "message": "The number is a landline.",
                                 "fix": "Enter a wireless number."}
    blockers = can_text(client, practice, patient["id"])["blockers"]
    assert blockers == [{"code": "phone_landline",
                         "message": "The carrier reported this number as a landline, which "
                                    "cannot receive texts.",
                         "fix": "Enter a wireless number."}]
    assert codes(post(client, practice, patient["id"]).json()["blockers"]) == ["phone_landline"]
    r = client.patch(f"/api/v1/patients/{patient['id']}", json={"wireless_phone": "415 555 0177"},
                     headers=practice.auth)
    assert r.status_code == 200 and r.json()["phone_finding"] is None
    assert r.json()["phone"] == "+14155550177" and r.json()["wireless_phone"] == "415 555 0177"
    client.post(f"/api/v1/patients/{patient['id']}/consent",
                json={"action": "opt_in", "source": "verbal"}, headers=practice.auth)
    assert can_text(client, practice, patient["id"])["can_text"] is True
    assert post(client, practice, patient["id"]).status_code == 201


def test_invalid_finding_blocks_with_its_own_sentence(client: TestClient, db: Database,
                                                      clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    post(client, practice, patient["id"])
    carrier_answers(db, clock, error_code=21211)
    (blocker,) = can_text(client, practice, patient["id"])["blockers"]
    assert blocker["code"] == "phone_invalid"
    assert blocker["message"] == ("The carrier reported this number as invalid or no longer "
                                  "in service.")


def test_message_holds_explain_a_pending_text(client: TestClient, db: Database,
                                              clock: FrozenClock) -> None:
    practice = make_practice(client, kind="hosted_landline")
    patient = make_patient(client, practice)
    r = post(client, practice, patient["id"])
    assert r.status_code == 201
    assert codes(r.json()["holds"]) == ["number_pending_verification", "connector_down"]
    dispatch.heartbeat(db, "connector-test", "host", clock.now())
    assert carrier_answers(db, clock) == 0  # the claim skips an unverified number
    detail = client.get(f"/api/v1/messages/{r.json()['id']}", headers=practice.auth).json()
    assert detail["status"] == "pending" and detail["failure"] is None
    assert detail["holds"] == [{
        "code": "number_pending_verification",
        "message": "The clinic's hosted landline is waiting for verification; the text goes "
                   "out once it is verified.",
        "fix": "Ask the operator to confirm the hosted number."}]


def test_spending_limit_refuses_manual_texts_and_lets_automated_go(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client, limit=0.0158)  # two one-segment texts
    patient = make_patient(client, practice)
    for _ in range(2):
        assert post(client, practice, patient["id"]).status_code == 201
    assert can_text(client, practice, patient["id"])["can_text"] is True  # nothing sent yet
    assert carrier_answers(db, clock) == 2
    r = post(client, practice, patient["id"])
    assert r.status_code == 422
    assert r.json()["blockers"] == [{
        "code": "spending_limit_reached",
        "message": "The clinic has spent $0.02 of its $0.02 monthly limit; manual texts are "
                   "paused.",
        "fix": "Raise the clinic's monthly limit, or wait for the next month."}]
    with db.transaction() as session:
        recipient = patient_recipient(session, practice.id, patient["id"])
        queued = send_text(session, recipient, "Reminder: cleaning tomorrow at 9.",
                           now=clock.now(), kind=MessageKind.AUTOMATED)
        assert queued.message.status == "pending"
        assert queued.message.cost_usd == Decimal("0.0079")
    clock.set(clock.now().replace(month=4, day=1, hour=0, minute=0))  # a new month
    assert post(client, practice, patient["id"]).status_code == 201


def test_only_texts_the_carrier_took_count_as_spent(client: TestClient, db: Database,
                                                     clock: FrozenClock) -> None:
    practice = make_practice(client, limit=0.0079)  # one segment
    patient = make_patient(client, practice)
    post(client, practice, patient["id"])
    assert carrier_answers(db, clock, error_code=21612) == 1  # unreachable: never sent
    canceled = post(client, practice, patient["id"]).json()
    client.post(f"/api/v1/messages/{canceled['id']}/cancel", headers=practice.auth)
    assert can_text(client, practice, patient["id"])["can_text"] is True
    post(client, practice, patient["id"])
    assert carrier_answers(db, clock) == 1
    assert codes(can_text(client, practice, patient["id"])["blockers"]) == [
        "spending_limit_reached"]


def test_text_blocked_after_it_was_accepted_is_canceled_at_claim(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    sent = post(client, practice, patient["id"]).json()
    client.patch("/api/v1/practice", json={"sms_enabled": False}, headers=practice.auth)
    waiting = client.get(f"/api/v1/messages/{sent['id']}", headers=practice.auth).json()
    assert waiting["status"] == "pending" and codes(waiting["blockers"]) == ["sms_not_enabled"]
    assert carrier_answers(db, clock) == 0
    detail = client.get(f"/api/v1/messages/{sent['id']}", headers=practice.auth).json()
    assert detail["status"] == "canceled" and detail["canceled_reason"] == "sms_not_enabled"
    assert detail["cancellation"] == {"code": "sms_not_enabled",
                                      "message": "Texting is not enabled for this practice.",
                                      "fix": "Enable SMS for the practice in Settings."}
    assert detail["blockers"] == [] and detail["holds"] == []
    assert [h["status"] for h in detail["history"]] == ["pending", "canceled"]


def test_staff_cancel_and_carrier_retry_explain_themselves(client: TestClient, db: Database,
                                                           clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    canceled = post(client, practice, patient["id"]).json()
    client.post(f"/api/v1/messages/{canceled['id']}/cancel", headers=practice.auth)
    detail = client.get(f"/api/v1/messages/{canceled['id']}", headers=practice.auth).json()
    assert detail["cancellation"]["code"] == "staff_canceled"
    assert detail["cancellation"]["message"] == "Staff canceled the text before it left."
    retried = post(client, practice, patient["id"]).json()
    dispatch.heartbeat(db, "connector-test", "host", clock.now())
    (job,) = dispatch.claim(db, "connector-test", clock.now(), POLICY)
    dispatch.record_refused(db, job, CarrierError("busy", http_status=503, is_transient=True),
                            clock.now(), POLICY)
    detail = client.get(f"/api/v1/messages/{retried['id']}", headers=practice.auth).json()
    assert detail["status"] == "pending" and detail["failure"] is None
    (hold,) = detail["holds"]
    assert hold["code"] == "carrier_retry"
    assert hold["message"].endswith("Next try at 2026-03-02 15:00 UTC.")
    assert hold["fix"].startswith("Nothing to do: it is retried.")


def test_a_landline_learned_cancels_the_next_waiting_text(client: TestClient, db: Database,
                                                          clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    first = post(client, practice, patient["id"]).json()
    assert carrier_answers(db, clock, error_code=30006) == 1
    # A second text was accepted before the finding reached it (an automated one, say).
    with db.transaction() as session:
        from textdesk.messaging.service import queue_message
        from textdesk.storage import directory as practice_store

        p = practice_store.get_practice(session, practice.id)
        assert p is not None
        second = queue_message(session, p, to_e164="+14155550123", from_e164=practice.number,
                               number_id=practice.number_id, clinic_id=practice.clinic_id,
                               body="Reminder", kind=MessageKind.AUTOMATED, now=clock.now(),
                               patient_id=patient["id"]).id
    assert carrier_answers(db, clock) == 0
    detail = client.get(f"/api/v1/messages/{second}", headers=practice.auth).json()
    assert (detail["status"], detail["canceled_reason"]) == ("canceled", "phone_landline")
    assert client.get(f"/api/v1/messages/{first['id']}",
                      headers=practice.auth).json()["failure"]["cause"] == "recipient_landline"


def test_registration_withdrawn_after_accept_cancels_with_its_code(
        client: TestClient, db: Database, clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    sent = post(client, practice, patient["id"]).json()
    client.put(f"/api/v1/admin/numbers/{practice.number_id}/registration",
               json={"status": "rejected"}, headers=ADMIN)
    carrier_answers(db, clock)
    detail = client.get(f"/api/v1/messages/{sent['id']}", headers=practice.auth).json()
    assert detail["canceled_reason"] == "messaging_not_approved"


def test_texts_still_allowed_at_claim_go_out(client: TestClient, db: Database,
                                             clock: FrozenClock) -> None:
    practice = make_practice(client)
    patients = [make_patient(client, practice, f"(415) 555-02{i:02d}", first_name=f"P{i}")
                for i in range(3)]
    ids = [post(client, practice, p["id"]).json()["id"] for p in patients]
    client.post(f"/api/v1/patients/{patients[1]['id']}/consent",
                json={"action": "opt_out", "source": "verbal"}, headers=practice.auth)
    assert carrier_answers(db, clock) == 2
    statuses = [client.get(f"/api/v1/messages/{i}", headers=practice.auth).json()["status"]
                for i in ids]
    assert statuses == ["sent", "canceled", "sent"]


@pytest.mark.parametrize("born", ["1850-01-01", "2999-01-01", "1984-02-30", "yesterday"])
def test_an_impossible_date_of_birth_is_refused_and_nothing_is_made(
        client: TestClient, born: str) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/patients", json={"first_name": "Ava", "birthdate": born},
                    headers=practice.auth)
    assert r.status_code == 422 and r.json()["field"] == "birthdate", r.text
    assert client.get("/api/v1/patients", headers=practice.auth).json() == []
