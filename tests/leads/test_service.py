"""Leads: take-in and merge, stage changes with who/when/why, texting by stage, replies and the
once-a-day redirect, consent shared with patients (D1–D4, C6)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.consent.support import answers_to, messages_with, text_in
from tests.helpers import make_patient, make_practice
from tests.leads.support import (
    LEAD_PHONE,
    history,
    lead_row,
    make_lead,
    set_stage,
    text_lead,
)
from textdesk.domain.messages import MessageKind
from textdesk.kit.clock import FrozenClock
from textdesk.leads import store as lead_store
from textdesk.leads.service import lead_recipient
from textdesk.messaging.recipients import judge, patient_recipient
from textdesk.storage.db import Database
from textdesk.storage.models import Lead

STAGES = ["new", "contacted", "engaged", "scheduled", "closed_won", "closed_lost"]
ACTIVE = {"new", "contacted", "engaged"}


def test_a_new_lead_starts_new_with_its_arrival_on_record(client: TestClient, db: Database,
                                                          clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice, opted_in=False)
    assert lead["stage"] == "new" and lead["is_active"] and lead["merged"] is False
    assert lead["phone"] == LEAD_PHONE and lead["source"] == "web_form"
    assert lead["last_activity_at"] == clock.now().isoformat()
    [arrival] = history(db, practice.id, lead["id"])
    assert (arrival.from_stage, arrival.to_stage, arrival.changed_by) == (None, "new", "staff")
    assert arrival.at == clock.now() and "web_form" in arrival.reason


def test_same_phone_merges_into_the_open_lead(client: TestClient, db: Database,
                                              clock: FrozenClock) -> None:
    practice = make_practice(client)
    first = make_lead(client, practice)
    clock.advance(days=2)
    r = client.post("/api/v1/leads", json={"first_name": "Lee", "phone": "+1 415-555-0177",
                                           "source": "call"}, headers=practice.auth)
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["merged"] is True and merged["id"] == first["id"]
    assert merged["inquiry_count"] == 2 and merged["source"] == "web_form"
    assert merged["last_activity_at"] == clock.now().isoformat()  # a new inquiry is activity
    leads = client.get("/api/v1/leads", headers=practice.auth).json()
    assert [x["id"] for x in leads] == [first["id"]]
    # A closed lead is not merged into: the person is a new lead.
    set_stage(client, practice, first["id"], "closed_lost", "not interested")
    again = make_lead(client, practice, opted_in=False)
    assert again["id"] != first["id"] and again["stage"] == "new"


def test_the_database_refuses_a_second_open_lead_for_a_phone(client: TestClient,
                                                             db: Database,
                                                             clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice, opted_in=False)
    now = clock.now()
    with db.transaction() as s:
        twin = Lead(practice_id=practice.id, clinic_id=practice.clinic_id, first_name="Twin",
                    last_name="", phone_raw=LEAD_PHONE, phone_e164=LEAD_PHONE, source="call",
                    stage="engaged", inquiry_count=1, last_activity_at=now,
                    stage_changed_at=now, created_at=now, updated_at=now)
        assert lead_store.insert_lead(s, twin) is False
        assert lead_store.open_lead_by_phone(s, practice.id, LEAD_PHONE).id == lead["id"]


@pytest.mark.parametrize("body, status, code", [
    ({"first_name": "Lee", "phone": "not a phone"}, 422, "invalid_phone"),
    ({"first_name": "Lee", "phone": ""}, 422, "invalid_phone"),
    ({"first_name": "", "phone": "(415) 555-0177"}, 422, "invalid_first_name"),
    ({"first_name": "Lee", "phone": "(415) 555-0177", "source": "billboard"}, 422,
     "invalid_source"),
    ({"first_name": "Lee", "phone": "(415) 555-0177", "clinic_id": 999}, 404,
     "clinic_not_found"),
    ({"first_name": "Lee", "phone": "(415) 555-0177", "stage": "engaged"}, 400,
     "unknown_field"),  # as for every body: an unknown field is a 400
    ({"first_name": 3, "phone": ["x"]}, 422, "invalid_request"),
])
def test_bad_lead_input_is_refused_and_changes_nothing(client: TestClient, body: dict,  # type: ignore[type-arg]
                                                       status: int, code: str) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/leads", json=body, headers=practice.auth)
    assert (r.status_code, r.json()["error"]) == (status, code)
    assert client.get("/api/v1/leads", headers=practice.auth).json() == []


def test_staff_stage_change_keeps_who_when_and_why(client: TestClient, db: Database,
                                                   clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    clock.advance(hours=3)
    r = client.patch(f"/api/v1/leads/{lead['id']}",
                     json={"stage": "engaged", "reason": "called back", "actor": "maria"},
                     headers=practice.auth)
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "engaged"
    change = r.json()["stage_history"][-1]
    assert change == {"from": "new", "to": "engaged", "by": "staff", "actor": "maria",
                      "reason": "called back", "at": clock.now().isoformat()}
    assert lead_row(db, practice.id, lead["id"]).last_activity_at == clock.now()
    # The same stage again is not a change: nothing is added.
    set_stage(client, practice, lead["id"], "engaged")
    assert len(history(db, practice.id, lead["id"])) == 2


@pytest.mark.parametrize("start, target", [
    ("closed_lost", "engaged"), ("closed_won", "new"), ("engaged", "contacted"),
    ("scheduled", "new"), ("contacted", "new")])
def test_a_refused_transition_changes_nothing(client: TestClient, db: Database, start: str,
                                              target: str) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    path = {"new": [], "contacted": ["contacted"], "engaged": ["engaged"],
            "scheduled": ["scheduled"], "closed_won": ["closed_won"],
            "closed_lost": ["closed_lost"]}[start]
    for stage in path:
        set_stage(client, practice, lead["id"], stage)
    before = len(history(db, practice.id, lead["id"]))
    r = client.patch(f"/api/v1/leads/{lead['id']}", json={"stage": target, "owner": "x"},
                     headers=practice.auth)
    assert r.status_code == 409 and r.json()["error"] == "lead_stage_not_allowed"
    assert r.json()["stage"] == start and target not in r.json()["allowed"]
    row = lead_row(db, practice.id, lead["id"])
    assert row.stage == start and row.owner is None  # the whole request changed nothing
    assert len(history(db, practice.id, lead["id"])) == before


def test_an_unknown_stage_is_refused(client: TestClient) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    r = client.patch(f"/api/v1/leads/{lead['id']}", json={"stage": "won"}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "invalid_stage"
    assert "closed_won" in r.json()["stages"]


@pytest.mark.parametrize("stage", STAGES)
def test_texting_a_lead_in_each_stage(client: TestClient, db: Database, stage: str) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    if stage != "new":
        set_stage(client, practice, lead["id"], stage)
    verdict = client.get(f"/api/v1/leads/{lead['id']}/can-text", headers=practice.auth).json()
    r = text_lead(client, practice, lead["id"])
    if stage in ACTIVE:
        assert verdict["can_text"] is True and verdict["blockers"] == []
        assert r.status_code == 201, r.text
        assert messages_with(db, practice.id, LEAD_PHONE, direction="outbound")[0].lead_id \
            == lead["id"]
    else:
        assert [b["code"] for b in verdict["blockers"]] == ["lead_inactive_stage"]
        assert r.status_code == 422
        [blocker] = r.json()["blockers"]
        assert blocker["code"] == "lead_inactive_stage"
        assert blocker["fix"] == (
            "Phone the patient from the office, or reopen the lead on the Leads board.")
        assert messages_with(db, practice.id, LEAD_PHONE, direction="outbound",
                             status="pending") == []


def test_every_other_rule_applies_to_leads_as_to_patients(client: TestClient) -> None:
    practice = make_practice(client, sms_enabled=False, approved=False)
    lead = make_lead(client, practice, "(415) 555-0178", opted_in=False)
    r = text_lead(client, practice, lead["id"], "")
    codes = {b["code"] for b in r.json()["blockers"]}
    assert r.status_code == 422
    assert {"sms_not_enabled", "messaging_not_approved", "not_opted_in", "body_empty"} <= codes
    assert "lead_inactive_stage" not in codes


def test_staff_texting_a_new_lead_marks_it_contacted(client: TestClient, db: Database,
                                                     clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    clock.advance(days=1)
    assert text_lead(client, practice, lead["id"]).status_code == 201
    row = lead_row(db, practice.id, lead["id"])
    assert row.stage == "contacted" and row.last_activity_at == clock.now()
    change = history(db, practice.id, lead["id"])[-1]
    assert (change.changed_by, change.reason) == ("automation", "staff texted the lead")


def test_a_reply_engages_the_lead_and_is_activity(client: TestClient, db: Database,
                                                  clock: FrozenClock) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    text_lead(client, practice, lead["id"])
    clock.advance(hours=5)
    text_in(client, practice, LEAD_PHONE, "Yes please, Tuesday works")
    [reply] = messages_with(db, practice.id, LEAD_PHONE, direction="inbound")
    assert reply.lead_id == lead["id"]
    row = lead_row(db, practice.id, lead["id"])
    assert row.stage == "engaged" and row.last_activity_at == clock.now()
    change = history(db, practice.id, lead["id"])[-1]
    assert (change.from_stage, change.to_stage, change.changed_by) == \
        ("contacted", "engaged", "automation")
    assert answers_to(db, practice.id, LEAD_PHONE) == []  # an active thread is not redirected


def test_a_stop_from_a_lead_is_not_a_reply(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    text_lead(client, practice, lead["id"])
    text_in(client, practice, LEAD_PHONE, "STOP")
    assert lead_row(db, practice.id, lead["id"]).stage == "contacted"
    r = text_lead(client, practice, lead["id"])
    assert r.status_code == 422 and [b["code"] for b in r.json()["blockers"]] == ["opted_out"]


@pytest.mark.parametrize("closed", ["closed_won", "closed_lost", "scheduled"])
def test_a_reply_in_a_closed_thread_is_redirected_once_a_day(client: TestClient, db: Database,
                                                             clock: FrozenClock,
                                                             closed: str) -> None:
    practice = make_practice(client)
    lead = make_lead(client, practice)
    set_stage(client, practice, lead["id"], closed)
    changes = len(history(db, practice.id, lead["id"]))
    text_in(client, practice, LEAD_PHONE, "Hi, is my visit still on?")
    clock.advance(hours=23, minutes=59)
    text_in(client, practice, LEAD_PHONE, "Hello?")
    answers = answers_to(db, practice.id, LEAD_PHONE)
    assert len(answers) == 1  # two replies within a day: one automated text
    assert "(415) 555-0100" in answers[0].body and "Main" in answers[0].body
    assert answers[0].lead_id == lead["id"] and answers[0].status == "pending"
    assert answers[0].from_e164 == practice.number
    clock.advance(minutes=1)  # a day after the first redirect
    text_in(client, practice, LEAD_PHONE, "Anyone there?")
    assert len(answers_to(db, practice.id, LEAD_PHONE)) == 2
    inbound = messages_with(db, practice.id, LEAD_PHONE, direction="inbound")
    assert len(inbound) == 3 and {m.lead_id for m in inbound} == {lead["id"]}  # all kept
    row = lead_row(db, practice.id, lead["id"])
    assert row.stage == closed and len(history(db, practice.id, lead["id"])) == changes


def test_no_redirect_to_a_phone_that_opted_out(client: TestClient, db: Database,
                                               clock: FrozenClock) -> None:
    practice = make_practice(client, keyword_replies="textdesk")  # textdesk confirms STOP
    lead = make_lead(client, practice)
    set_stage(client, practice, lead["id"], "closed_lost")
    text_in(client, practice, LEAD_PHONE, "STOP")
    clock.advance(minutes=5)
    text_in(client, practice, LEAD_PHONE, "why did you text me")
    bodies = [m.body for m in answers_to(db, practice.id, LEAD_PHONE)]
    assert len(bodies) == 1 and "unsubscribed" in bodies[0]  # only the STOP confirmation


@pytest.mark.parametrize("where", ["lead", "patient"])
def test_an_opt_out_in_either_applies_to_both(client: TestClient, where: str) -> None:
    """C6: lead texting and campaign texting share one consent per phone."""
    practice = make_practice(client)
    patient = make_patient(client, practice, "(415) 555-0177")
    lead = make_lead(client, practice)
    path = (f"/api/v1/leads/{lead['id']}/consent" if where == "lead"
            else f"/api/v1/patients/{patient['id']}/consent")
    r = client.post(path, json={"action": "opt_out", "scope": "all",
                                "source": "campaign_unsubscribe"}, headers=practice.auth)
    assert r.status_code == 201, r.text
    for other in (f"/api/v1/leads/{lead['id']}", f"/api/v1/patients/{patient['id']}"):
        verdict = client.get(f"{other}/can-text", headers=practice.auth).json()
        assert [b["code"] for b in verdict["blockers"]] == ["opted_out"], other
        consent = client.get(f"{other}/consent", headers=practice.auth).json()
        assert consent["state"] == "opted_out"
    assert text_lead(client, practice, lead["id"]).status_code == 422


@pytest.mark.parametrize("who_stops", ["lead", "patient"])
def test_a_stop_in_either_thread_blocks_campaigns_and_lead_texting(
        client: TestClient, db: Database, clock: FrozenClock, who_stops: str) -> None:
    """C6 through the webhook: one STOP from the phone, whoever it was texting as."""
    practice = make_practice(client)
    patient = make_patient(client, practice, "(415) 555-0177")
    lead = make_lead(client, practice)
    if who_stops == "lead":
        text_lead(client, practice, lead["id"])
    text_in(client, practice, LEAD_PHONE, "STOP")
    with db.transaction() as s:
        for recipient in (lead_recipient(s, practice.id, lead["id"]),
                          patient_recipient(s, practice.id, patient["id"])):
            for kind in (MessageKind.CAMPAIGN, MessageKind.MANUAL):
                verdict = judge(s, recipient, now=clock.now(), body="Spring offer!",
                                kind=kind).verdict
                assert "opted_out" in [b.code for b in verdict.blockers], (recipient, kind)


def test_lead_ids_of_another_practice_answer_404(client: TestClient) -> None:
    a = make_practice(client, name="A", number="+15005550006")
    b = make_practice(client, name="B", number="+14155550999")
    lead = make_lead(client, a)
    for path in (f"/api/v1/leads/{lead['id']}", f"/api/v1/leads/{lead['id']}/consent",
                 f"/api/v1/leads/{lead['id']}/can-text",
                 f"/api/v1/leads/{lead['id']}/messages"):
        assert client.get(path, headers=a.auth).status_code == 200, path
        assert client.get(path, headers=b.auth).status_code == 404, path
    assert client.patch(f"/api/v1/leads/{lead['id']}", json={"stage": "closed_lost"},
                        headers=b.auth).status_code == 404
    r = text_lead(client, b, lead["id"])
    assert r.status_code == 404 and r.json()["error"] == "lead_not_found"
    assert client.get("/api/v1/leads", headers=b.auth).json() == []

