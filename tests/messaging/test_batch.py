"""POST /api/v1/messages/batch: many texts, each judged like POST /api/v1/messages, one result
per item in order; bad items are that item's error, never the batch's."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import make_patient, make_practice
from textdesk.storage.db import Database
from textdesk.storage.models import AuditEvent, Conversation, Message, MessageEvent, RefusedSend


def _count(db: Database, model: type) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_each_item_is_judged_and_answered_in_order(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    other = make_practice(client, name="Other", number="+14155550999")
    ok = make_patient(client, practice, "+14155550123")
    opted_out = make_patient(client, practice, "+14155550124", first_name="Olu")
    r = client.post(f"/api/v1/patients/{opted_out['id']}/consent",
                    json={"action": "opt_out", "scope": "all", "source": "verbal"},
                    headers=practice.auth)
    assert r.status_code < 300, r.text
    theirs = make_patient(client, other, "+14155550125")
    lead = client.post("/api/v1/leads", json={"first_name": "Lee", "phone": "+14155550126",
                                              "source": "web_form"}, headers=practice.auth)
    assert lead.status_code == 201, lead.text
    r = client.post(f"/api/v1/leads/{lead.json()['id']}/consent",
                    json={"action": "opt_in", "scope": "all", "source": "web_form"},
                    headers=practice.auth)
    assert r.status_code < 300, r.text
    items = [
        {"patient_id": ok["id"], "body": "See you at 9."},
        {"patient_id": opted_out["id"], "body": "See you at 10."},
        {"patient_id": theirs["id"], "body": "Not yours."},
        {"patient_id": 999_999, "body": "Nobody."},
        {"patient_id": ok["id"], "lead_id": lead.json()["id"], "body": "Both."},
        {"lead_id": lead.json()["id"], "body": "Thanks for asking about whitening."},
        {"patient_id": ok["id"], "body": "And a second one \U0001F600."},
    ]
    r = client.post("/api/v1/messages/batch", json={"messages": items}, headers=practice.auth)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == len(items)
    first, blocked, theirs_r, nobody, both, to_lead, second = results
    assert first["status"] == "pending" and first["segments"] == 1
    assert first["encoding"] == "GSM-7" and isinstance(first["id"], int)
    assert blocked["error"] == "send_blocked"
    assert "opted_out" in [b["code"] for b in blocked["blockers"]]
    assert theirs_r["error"] == "patient_not_found" and nobody["error"] == "patient_not_found"
    assert both["error"] == "invalid_recipient"
    assert to_lead["status"] == "pending"
    assert second["encoding"] == "UCS-2"
    # The same answer as the single send gives for the same text (the same rules).
    single = client.post("/api/v1/messages", json=items[0], headers=practice.auth).json()
    assert {k: v for k, v in single.items() if k != "id"} == \
        {k: v for k, v in first.items() if k != "id"}
    # Each text as the single send writes it: its history, its conversation, its audit row.
    for queued in (first, to_lead, second):
        detail = client.get(f"/api/v1/messages/{queued['id']}", headers=practice.auth).json()
        assert detail["status"] == "pending"
        assert [h["status"] for h in detail["history"]] == ["pending"]
    assert client.get(f"/api/v1/messages/{first['id']}", headers=practice.auth).json()["to"] \
        == "+14155550123"
    with db.read() as session:
        conversation = session.scalar(select(Conversation).where(
            Conversation.phone_e164 == "+14155550123"))
        assert conversation is not None and conversation.patient_id == ok["id"]
        assert conversation.last_preview.startswith("See you at 9.")  # the single send's, last
        refused = session.scalars(select(RefusedSend)).all()
        assert [r.patient_id for r in refused] == [opted_out["id"]]
        audited = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "text_sent")).all()
        assert sorted(a.subject for a in audited) == sorted(
            f"message {m}" for m in (first["id"], to_lead["id"], second["id"], single["id"]))
    lead_now = client.get(f"/api/v1/leads/{lead.json()['id']}", headers=practice.auth).json()
    assert lead_now["stage"] == "contacted"  # texting a new lead contacts it, as one text does


def test_more_than_a_thousand_items_is_refused_and_changes_nothing(client: TestClient,
                                                                   db: Database) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    items = [{"patient_id": patient["id"], "body": f"Text {i}"} for i in range(1001)]
    r = client.post("/api/v1/messages/batch", json={"messages": items}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "batch_too_large"
    r = client.post("/api/v1/messages/batch", json={"messages": []}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == "batch_empty"
    assert _count(db, Message) == 0 and _count(db, MessageEvent) == 0


def test_a_thousand_texts_in_one_request(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    patients = [make_patient(client, practice, f"+1415555{1000 + i:04d}")["id"]
                for i in range(20)]
    items = [{"patient_id": patients[i % 20], "body": f"Reminder {i}"} for i in range(1000)]
    r = client.post("/api/v1/messages/batch", json={"messages": items}, headers=practice.auth)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert all(x["status"] == "pending" for x in results)
    assert len({x["id"] for x in results}) == 1000
    assert _count(db, Message) == 1000 and _count(db, MessageEvent) == 1000
    assert _count(db, Conversation) == 20
    with db.read() as session:  # result i is item i's text
        bodies = dict(session.execute(select(Message.id, Message.body)).all())
    assert [bodies[x["id"]] for x in results] == [i["body"] for i in items]


def test_idempotency_key_answers_a_batch_once(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    batch = {"messages": [{"patient_id": patient["id"], "body": "Once only."}]}
    headers = {**practice.auth, "Idempotency-Key": "batch-1"}
    first = client.post("/api/v1/messages/batch", json=batch, headers=headers)
    again = client.post("/api/v1/messages/batch", json=batch, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert _count(db, Message) == 1
    other = client.post("/api/v1/messages/batch",
                        json={"messages": [{"patient_id": patient["id"], "body": "Other."}]},
                        headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"


def test_a_batch_item_with_files_is_refused_on_its_own(client: TestClient) -> None:
    practice = make_practice(client)
    ok = make_patient(client, practice)
    r = client.post("/api/v1/messages/batch", json={"messages": [
        {"patient_id": ok["id"], "body": "See the picture", "media": [1]},
        {"patient_id": ok["id"], "body": "Plain text"}]}, headers=practice.auth)
    assert r.status_code == 200, r.text
    pictured, plain = r.json()["results"]
    assert pictured["error"] == "media_not_in_batch" and "id" not in pictured
    assert plain["status"] == "pending"
