"""Helpers for lead tests: a lead through the public API, and what the database holds for it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import Practice
from textdesk.leads import store as lead_store
from textdesk.storage.db import Database
from textdesk.storage.models import Lead, LeadStageChange

LEAD_PHONE = "+14155550177"


def make_lead(client: TestClient, practice: Practice, phone: str = "(415) 555-0177", *,
              opted_in: bool = True, first_name: str = "Lee",
              source: str = "web_form") -> dict[str, Any]:
    r = client.post("/api/v1/leads", json={"first_name": first_name, "last_name": "Ray",
                                           "phone": phone, "clinic_id": practice.clinic_id,
                                           "source": source}, headers=practice.auth)
    assert r.status_code == 201, r.text
    lead = r.json()
    if opted_in:
        c = client.post(f"/api/v1/leads/{lead['id']}/consent",
                        json={"action": "opt_in", "scope": "all", "source": "web_form"},
                        headers=practice.auth)
        assert c.status_code == 201, c.text
    return lead


def set_stage(client: TestClient, practice: Practice, lead_id: int, stage: str,
              reason: str = "test") -> dict[str, Any]:
    r = client.patch(f"/api/v1/leads/{lead_id}", json={"stage": stage, "reason": reason},
                     headers=practice.auth)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def lead_row(db: Database, practice_id: int, lead_id: int) -> Lead:
    with db.transaction() as s:
        lead = lead_store.get_lead(s, practice_id, lead_id)
        assert lead is not None
        return lead


def history(db: Database, practice_id: int, lead_id: int) -> list[LeadStageChange]:
    with db.transaction() as s:
        return lead_store.stage_history(s, practice_id, lead_id)


def text_lead(client: TestClient, practice: Practice, lead_id: int,
              body: str = "Hi, this is Main Dental about your request.") -> Any:
    return client.post("/api/v1/messages", json={"lead_id": lead_id, "body": body},
                       headers=practice.auth)
