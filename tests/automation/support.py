"""Helpers for automation tests: templates, rules, appointments and campaigns via the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import Practice, make_patient
from textdesk.kit.clock import FrozenClock
from textdesk.messaging import dispatch
from textdesk.storage.db import Database
from textdesk.storage.models import Message


def template(client: TestClient, practice: Practice, body: str, purpose: str,
             name: str | None = None) -> int:
    r = client.post("/api/v1/templates", json={"name": name or f"{purpose} {body[:20]}",
                                               "purpose": purpose, "body": body},
                    headers=practice.auth)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def patient(client: TestClient, practice: Practice, phone: str, *, marketing: bool = True,
            opted_in: bool = True, first_name: str = "Pat") -> int:
    made = make_patient(client, practice, phone, opted_in=opted_in, first_name=first_name)
    if marketing:
        r = client.post(f"/api/v1/patients/{made['id']}/consent",
                        json={"action": "opt_in", "scope": "marketing", "source": "web_form"},
                        headers=practice.auth)
        assert r.status_code == 201, r.text
    return int(made["id"])


def opt_out(client: TestClient, practice: Practice, patient_id: int) -> None:
    r = client.post(f"/api/v1/patients/{patient_id}/consent",
                    json={"action": "opt_out", "scope": "all", "source": "verbal"},
                    headers=practice.auth)
    assert r.status_code == 201, r.text


def campaign(client: TestClient, practice: Practice, **data: Any) -> dict[str, Any]:
    data.setdefault("name", "Spring cleaning")
    data.setdefault("body", "Hi {first_name}, time for a cleaning at {clinic_name}: "
                            "{recall_link}")
    r = client.post("/api/v1/campaigns", json=data, headers=practice.auth)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def campaign_texts(db: Database, campaign_id: int) -> list[Message]:
    with db.transaction() as session:
        return list(session.scalars(select(Message).where(Message.campaign_id == campaign_id)
                                    .order_by(Message.next_attempt_at, Message.id)))


def claim(db: Database, clock: FrozenClock, connector: str = "test") -> list[dispatch.Job]:
    return dispatch.claim(db, connector, clock.now(), dispatch.DispatchPolicy())


def beat(db: Database, clock: FrozenClock) -> None:
    dispatch.heartbeat(db, "test", "host", clock.now())
