"""No GET of the API or the staff pages changes a row: every table is dumped before and after
walking every GET route with ids from a setup that has campaigns, texts, leads and patients."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.automation.support import campaign, campaign_texts, patient
from tests.pages.helpers import desk
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import Base

# A signed-in browser's session slides its idle expiry on every request: sign-in bookkeeping,
# not data.
_SLIDING = {("staff_sessions", "last_seen_at"), ("staff_sessions", "expires_at")}
# Reading patient data is itself recorded (45 CFR 164.312(b)): the audit trail's append-only
# rows are the record of the read, not a change to what was read.
_RECORDS_OF_READS = {"audit_events"}


def _dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    dump: dict[str, list[tuple[Any, ...]]] = {}
    with db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in _RECORDS_OF_READS:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in _SLIDING]
            dump[table.name] = sorted(session.execute(select(*columns)).all(), key=repr)
    return dump


def test_no_get_changes_a_row(client: TestClient, db: Database, clock: FrozenClock) -> None:
    staff = desk(client, db, clock)
    practice = staff.practice
    pid = patient(client, practice, "+12125550101")
    patient(client, practice, "+14155550102")
    made = campaign(client, practice)
    text = campaign_texts(db, made["id"])[0]
    lead = client.post("/api/v1/leads", json={"first_name": "Lee", "phone": "+12125550199"},
                       headers=practice.auth)
    ids = {"campaign_id": made["id"], "patient_id": pid, "message_id": text.id,
           "clinic_id": practice.clinic_id, "number_id": practice.number_id,
           "conversation_id": text.conversation_id,
           "lead_id": lead.json().get("id", 1) if lead.status_code < 300 else 1}
    for _ in range(2):  # the first walk may finish what the setup left (none should)
        before = _dump(db)
        walked = _walk(client, practice.auth, ids)
        assert _dump(db) == before
    assert walked > 20


def _routes(routes: list[Any], prefix: str = "") -> list[tuple[str, set[str]]]:
    """Every (path, methods), through included routers."""
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found += _routes(inner.routes, prefix + getattr(inner, "prefix", ""))
        elif hasattr(route, "path"):
            found.append((prefix + route.path, set(getattr(route, "methods", None) or ())))
    return found


def _walk(client: TestClient, auth: dict[str, str], ids: dict[str, int]) -> int:
    walked = 0
    for template, methods in _routes(client.app.routes):  # type: ignore[attr-defined]
        if "GET" not in methods or template.startswith(("/docs", "/redoc", "/static")):
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(ids.get(m.group(1), 1)), template)
        client.get(path, headers=auth)  # API routes read the bearer; pages the cookie
        walked += 1
    return walked
