"""Campaigns: the audience judged by the rule engine, texts written in bulk, pacing, pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.automation.support import (
    campaign,
    campaign_texts,
    claim,
    opt_out,
    patient,
    template,
)
from tests.helpers import make_practice
from textdesk.automation import store as store
from textdesk.domain.links import LinkKind, verify
from textdesk.domain.segments import count_segments
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import MessageEvent, Patient


def phone(i: int) -> str:
    return f"+1212555{i:04d}"  # New York: 10:00 local at the fixture's clock


def test_audience_is_judged_and_skips_are_counted(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    eligible = [patient(client, practice, phone(i), first_name=f"Ana{i}") for i in range(4)]
    no_marketing = patient(client, practice, phone(10), marketing=False)
    out = patient(client, practice, phone(11))
    opt_out(client, practice, out)
    nobody = patient(client, practice, phone(12), opted_in=False, marketing=False)
    invalid = patient(client, practice, "(123) 555-0100", opted_in=False, marketing=False)
    twin = patient(client, practice, phone(0), first_name="Twin")  # shares Ana0's phone
    landline = patient(client, practice, phone(13))
    with db.transaction() as session:
        session.execute(update(Patient).where(Patient.id == landline)
                        .values(phone_finding="landline"))
    made = campaign(client, practice)
    progress = made["progress"]
    assert made["recipients"] == 10 and made["status"] == "running"
    assert progress["queued"] == 4 and progress["skipped"] == 6
    assert progress["skipped_by_reason"] == {
        "duplicate_phone": 1, "no_marketing_consent": 1, "not_opted_in": 1, "opted_out": 1,
        "phone_invalid": 1, "phone_landline": 1}
    texts = campaign_texts(db, made["id"])
    assert sorted(t.patient_id for t in texts) == sorted(eligible)
    assert {no_marketing, out, nobody, invalid, twin, landline}.isdisjoint(
        t.patient_id for t in texts)


def test_texts_carry_name_clinic_and_a_signed_recall_link(client: TestClient, db: Database,
                                                          clock: FrozenClock) -> None:
    practice = make_practice(client)
    ids = [patient(client, practice, phone(i), first_name=name)
           for i, name in enumerate(["Ana", "Zoë", "Mary-Jo O'Neil"])]
    made = campaign(client, practice)
    texts = {t.patient_id: t for t in campaign_texts(db, made["id"])}
    with db.transaction() as session:
        key = store.link_key(session, practice.id, clock.now())
    for pid, name in zip(ids, ["Ana", "Zoë", "Mary-Jo O'Neil"], strict=True):
        text = texts[pid]
        assert text.body.startswith(f"Hi {name}, time for a cleaning at Main: ")
        token = text.body.rsplit("/r/", 1)[1]
        claim_ = verify(key, token, clock.now())
        assert (claim_.kind, claim_.practice_id, claim_.subject_id) == (
            LinkKind.RECALL, practice.id, pid)
        counted = count_segments(text.body)  # the database's count equals the domain's
        assert (text.segments, text.encoding) == (counted.segments, counted.encoding.value)
        assert text.kind == "campaign" and text.status == "pending"
        assert text.conversation_id is not None and text.to_e164 == phone(ids.index(pid))
        page = client.get(f"/r/{token}")
        assert page.status_code == 200 and name.split("-")[0] in page.text
    assert texts[ids[1]].encoding == "UCS-2"  # ë is not GSM-7
    with db.transaction() as session:
        events = session.query(MessageEvent).filter(
            MessageEvent.message_id.in_([t.id for t in texts.values()])).all()
    assert sorted(e.status for e in events) == ["pending"] * 3


def test_texts_are_laid_out_at_the_number_pace(client: TestClient, db: Database,
                                               clock: FrozenClock) -> None:
    practice = make_practice(client)
    for i in range(5):
        patient(client, practice, phone(i))
    made = campaign(client, practice)
    texts = campaign_texts(db, made["id"])
    starts = [t.next_attempt_at for t in texts]
    assert starts[0] == clock.now()
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert all(1.020 <= gap <= 1.021 for gap in gaps)  # 1 segment/s, 2% kept in reserve
    assert [t.wait_reason for t in texts] == [None] + ["rate_limited"] * 4
    message = client.get(f"/api/v1/messages/{texts[1].id}", headers=practice.auth).json()
    assert "rate_limited" in [h["code"] for h in message["holds"]]


def test_the_claim_paces_campaign_texts_but_not_staff_texts(client: TestClient, db: Database,
                                                            clock: FrozenClock) -> None:
    practice = make_practice(client)
    first = patient(client, practice, phone(0))
    for i in range(1, 6):
        patient(client, practice, phone(i))
    campaign(client, practice)
    with db.transaction() as session:  # the plan is a hint: make every text due at once
        from textdesk.storage.models import Message

        session.execute(update(Message).where(Message.kind == "campaign")
                        .values(next_attempt_at=clock.now()))
    staff = client.post("/api/v1/messages", json={"patient_id": first, "body": "See you!"},
                        headers=practice.auth).json()
    jobs = claim(db, clock)
    assert sorted(j.body.startswith("Hi") for j in jobs) == [False, True]  # one of each
    assert staff["id"] in [j.id for j in jobs]
    assert claim(db, clock) == []
    clock.advance(seconds=0.5)
    assert claim(db, clock) == []
    clock.advance(seconds=0.6)
    assert len(claim(db, clock)) == 1
    sent = 3
    for _ in range(40):
        clock.advance(seconds=0.25)
        sent += len(claim(db, clock))
    assert sent == 7  # all six campaign texts, one per 1.02 s, and the staff text


def test_a_campaign_started_at_night_waits_for_eight_local(client: TestClient, db: Database,
                                                           clock: FrozenClock) -> None:
    practice = make_practice(client)
    patient(client, practice, phone(1))
    patient(client, practice, "+14155550111")  # Los Angeles
    clock.set(datetime(2026, 3, 3, 6, 0, tzinfo=UTC))  # 01:00 in New York, 22:00 in LA
    made = campaign(client, practice)
    ny, la = campaign_texts(db, made["id"])
    assert (ny.to_e164, ny.next_attempt_at, ny.wait_reason) == (
        phone(1), datetime(2026, 3, 3, 13, 0, tzinfo=UTC), "quiet_hours")  # 08:00 in NY
    assert (la.next_attempt_at, la.wait_reason) == (
        datetime(2026, 3, 3, 16, 0, tzinfo=UTC), "quiet_hours")  # 08:00 in LA, its own
    clock.set(datetime(2026, 3, 3, 13, 0, 5, tzinfo=UTC))  # 08:00 NY, 05:00 LA
    jobs = claim(db, clock)
    assert [j.to for j in jobs] == [phone(1)]
    clock.set(datetime(2026, 3, 3, 16, 0, 5, tzinfo=UTC))
    assert [j.to for j in claim(db, clock)] == ["+14155550111"]


def test_pause_holds_and_resume_lays_out_again(client: TestClient, db: Database,
                                               clock: FrozenClock) -> None:
    practice = make_practice(client)
    for i in range(3):
        patient(client, practice, phone(i))
    made = campaign(client, practice)
    r = client.post(f"/api/v1/campaigns/{made['id']}/pause", headers=practice.auth)
    assert r.status_code == 200 and r.json()["status"] == "paused"
    clock.advance(hours=1)
    assert claim(db, clock) == []
    text = campaign_texts(db, made["id"])[0]
    holds = client.get(f"/api/v1/messages/{text.id}", headers=practice.auth).json()["holds"]
    assert "campaign_paused" in [h["code"] for h in holds]
    paused = next(h for h in holds if h["code"] == "campaign_paused")
    assert "Next try" not in paused["message"]  # no made-up date while paused
    again = client.post(f"/api/v1/campaigns/{made['id']}/pause", headers=practice.auth)
    assert again.status_code == 409 and again.json()["error"] == "campaign_status_not_allowed"
    r = client.post(f"/api/v1/campaigns/{made['id']}/resume", headers=practice.auth)
    assert r.json()["status"] == "running"
    starts = [t.next_attempt_at for t in campaign_texts(db, made["id"])]
    assert starts[0] == clock.now() and starts[2] - starts[0] < timedelta(seconds=3)
    assert len(claim(db, clock)) == 1


def test_cancel_cancels_what_waits(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    for i in range(3):
        patient(client, practice, phone(i))
    made = campaign(client, practice)
    r = client.post(f"/api/v1/campaigns/{made['id']}/cancel", headers=practice.auth)
    assert r.json()["status"] == "canceled" and r.json()["progress"]["canceled"] == 3
    assert {t.cancel_reason for t in campaign_texts(db, made["id"])} == {"campaign_canceled"}
    r = client.post(f"/api/v1/campaigns/{made['id']}/resume", headers=practice.auth)
    assert r.status_code == 409


def test_audience_filters_and_csv(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    ids = [patient(client, practice, phone(i)) for i in range(4)]
    booked = client.post("/api/v1/appointments", json={
        "patient_id": ids[0], "start": "2026-03-20T09:00:00-04:00"}, headers=practice.auth)
    assert booked.status_code == 201, booked.text
    recall = campaign(client, practice, audience={"no_upcoming_appointment": True})
    assert recall["recipients"] == 3
    listed = campaign(client, practice, audience_csv=f"patient_id\n{ids[1]}\n999999\n",
                      name="by id")
    assert listed["recipients"] == 1 and listed["audience"]["csv"] == {
        "rows": 2, "patients": 1, "unmatched": 1}
    by_phone = campaign(client, practice, audience_csv="phone\n(212) 555-0002\n",
                        name="by phone")
    assert [t.patient_id for t in campaign_texts(db, by_phone["id"])] == [ids[2]]


@pytest.mark.parametrize(("data", "status", "code"), [
    ({"name": "x", "body": "Hi {last_name}"}, 422, "invalid_template"),
    ({"name": "x", "body": "See you {appt_date}"}, 422, "invalid_template"),
    ({"name": "", "body": "Hi"}, 422, "invalid_name"),
    ({"name": "x", "body": "Hi", "audience": {"age": 3}}, 422, "invalid_audience"),
    ({"name": "x", "body": "Hi", "audience": {"clinic_id": 9999}}, 404, "clinic_not_found"),
    ({"name": "x", "body": "Hi", "audience_csv": "name\nAna\n"}, 422, "invalid_csv"),
    ({"name": "x", "body": "Hi", "start_at": "tomorrow"}, 422, "invalid_start_at"),
    ({"name": "x", "body": "Hi", "template_id": 9999}, 404, "template_not_found"),
    ({"name": "x", "body": "Hi", "color": "red"}, 400, "unknown_field"),
])
def test_bad_campaigns_are_refused_and_write_nothing(client: TestClient, db: Database,
                                                     data: dict, status: int, code: str) -> None:
    practice = make_practice(client)
    patient(client, practice, phone(1))
    r = client.post("/api/v1/campaigns", json=data, headers=practice.auth)
    assert (r.status_code, r.json()["error"]) == (status, code)
    assert client.get("/api/v1/campaigns", headers=practice.auth).json() == []


def test_a_reminder_template_cannot_make_a_campaign(client: TestClient) -> None:
    practice = make_practice(client)
    tid = template(client, practice, "See you {appt_date}", "reminder")
    r = client.post("/api/v1/campaigns", json={"name": "x", "template_id": tid},
                    headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "invalid_template_purpose"


def test_another_practice_sees_nothing(client: TestClient) -> None:
    practice = make_practice(client)
    patient(client, practice, phone(1))
    made = campaign(client, practice)
    other = make_practice(client, name="Other", number="+15005550007")
    r = client.get(f"/api/v1/campaigns/{made['id']}", headers=other.auth)
    assert r.status_code == 404 and r.json()["error"] == "campaign_not_found"


def test_the_operator_grants_a_number_more_and_the_plan_follows(client: TestClient,
                                                                 db: Database,
                                                                 clock: FrozenClock) -> None:
    from tests.helpers import ADMIN

    practice = make_practice(client)
    for i in range(4):
        patient(client, practice, phone(i))
    r = client.put(f"/api/v1/admin/numbers/{practice.number_id}/pace",
                   json={"segments_per_second": 2, "daily_cap": 3}, headers=ADMIN)
    assert r.status_code == 200, r.text
    shown = client.get(f"/api/v1/numbers/{practice.number_id}/pace", headers=practice.auth).json()
    assert (shown["segments_per_second"], shown["daily_cap"], shown["kind"]) == (2.0, 3, "local")
    made = campaign(client, practice)
    starts = [t.next_attempt_at for t in campaign_texts(db, made["id"])]
    assert all(0.50 < (b - a).total_seconds() < 0.52 for a, b in zip(starts, starts[1:],
                                                                       strict=False))
    taken = 0
    for _ in range(12):
        taken += len(claim(db, clock))
        clock.advance(seconds=0.26)
    assert taken == 3  # the daily cap
    waiting = [t for t in campaign_texts(db, made["id"]) if t.status == "pending"]
    assert [t.wait_reason for t in waiting] == ["daily_cap_reached"]
    assert waiting[0].next_attempt_at == datetime(2026, 3, 3, tzinfo=UTC)


@pytest.mark.parametrize(("data", "code"), [
    ({"segments_per_second": 0}, "invalid_pace"),
    ({"segments_per_second": "fast"}, "invalid_pace"),
    ({"daily_cap": 1.5}, "invalid_pace"),
    ({"burst_segments": True}, "invalid_pace"),
    ({"speed": 3}, "invalid_pace"),
    ({}, "invalid_pace"),
])
def test_bad_grants_are_refused(client: TestClient, data: dict, code: str) -> None:
    from tests.helpers import ADMIN

    practice = make_practice(client)
    r = client.put(f"/api/v1/admin/numbers/{practice.number_id}/pace", json=data, headers=ADMIN)
    assert r.status_code == 422 and r.json()["error"] == code
    shown = client.get(f"/api/v1/numbers/{practice.number_id}/pace", headers=practice.auth)
    assert shown.json()["segments_per_second"] == 1.0


def test_only_the_operator_grants_and_only_the_owner_reads(client: TestClient) -> None:
    practice = make_practice(client)
    other = make_practice(client, name="Other", number="+15005550007")
    r = client.put(f"/api/v1/admin/numbers/{practice.number_id}/pace",
                   json={"segments_per_second": 5}, headers=practice.auth)
    assert r.status_code == 401
    r = client.get(f"/api/v1/numbers/{practice.number_id}/pace", headers=other.auth)
    assert r.status_code == 404 and r.json()["error"] == "number_not_found"


def test_a_campaign_starts_at_its_start_time(client: TestClient, db: Database,
                                             clock: FrozenClock) -> None:
    practice = make_practice(client)
    for i in range(2):
        patient(client, practice, phone(i))
    start = clock.now() + timedelta(hours=2)
    made = campaign(client, practice, start_at=start.isoformat())
    assert made["start_at"] == start.isoformat()
    assert [t.next_attempt_at for t in campaign_texts(db, made["id"])][0] == start
    assert claim(db, clock) == []
    clock.set(start)
    assert len(claim(db, clock)) == 1


@pytest.mark.parametrize(("csv_text", "status", "code"), [
    ("patient_id\n" + "9" * 5000 + "\n", 201, None),  # names no patient: unmatched, not a 500
    ("patient_id\n" + "12345678901234567890\n", 201, None),  # past 2^63-1: unmatched
    ("patient_id\n\u00b2\n", 201, None),  # a digit that is not ASCII
    ("phone\n" + "5" * 300 + "\n", 201, None),
    ("patient_id\n" + "1\n" * 50_001, 422, "invalid_csv"),  # rows
    ("patient_id\n" + "1" * 499_990 + "\n" + "\u00e9" * 20, 413, "payload_too_large"),  # bytes
    ("patient_id\n" + "1," * 300_000, 413, "payload_too_large"),
])
def test_an_audience_csv_is_bounded_and_never_a_server_error(
        client: TestClient, db: Database, csv_text: str, status: int, code: str | None) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/campaigns", headers=practice.auth,
                    json={"name": "x", "body": "Hi", "audience_csv": csv_text})
    assert r.status_code == status, r.text
    if code is not None:
        assert r.json()["error"] == code
        assert client.get("/api/v1/campaigns", headers=practice.auth).json() == []
    else:
        assert r.json()["audience"]["csv"]["patients"] == 0
