"""Several connector processes on PostgreSQL never send the same text twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.e2e.conftest import start_live_server, stop_live_server, wait_until_none_waiting
from textdesk.consent import service as consent_service
from textdesk.domain.consent import ConsentAction, ConsentScope, ConsentSource
from textdesk.domain.messages import MessageKind
from textdesk.kit.clock import Clock
from textdesk.messaging.service import queue_message
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database

pytestmark = [pytest.mark.once, pytest.mark.slow]
TEXTS = 2000


def _queue(db: Database, practice_id: int, number: str) -> None:
    now = Clock().now()
    with db.transaction() as session:
        practice = practice_store.get_practice(session, practice_id)
        assert practice is not None
        clinic = practice_store.first_clinic(session, practice_id)
        sending = practice_store.number_by_e164(session, number)
        assert clinic is not None and sending is not None
        for i in range(100):
            consent_service.record(session, practice_id, f"+1415555{i:04d}",
                                   ConsentAction.OPT_IN, ConsentScope.ALL,
                                   ConsentSource.WEB_FORM, now=now)
        for i in range(TEXTS):
            queue_message(session, practice, to_e164=f"+1415555{i % 100:04d}", from_e164=number,
                          number_id=sending.id, clinic_id=clinic.id, body=f"text #{i}",
                          kind=MessageKind.AUTOMATED, now=now)


def _connectors_alive(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM connector_heartbeats")).scalar_one())


def test_two_connector_processes_send_each_text_exactly_once(pg_db: Database,
                                                             tmp_path: Path) -> None:
    live, server = start_live_server(pg_db, with_connector=False)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        practice = live.practice()
        env = {**os.environ, "TEXTDESK_DATABASE_URL": pg_db.url,
               "TEXTDESK_PUBLIC_URL": live.base_url, "TEXTDESK_TWILIO_BASE_URL": live.base_url,
               "TEXTDESK_CONNECTOR_BATCH_SIZE": "25", "TEXTDESK_CONNECTOR_POLL_SECONDS": "0.05"}
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "textdesk.cli", "connector"],
                                          env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        live.wait_for(lambda: _connectors_alive(pg_db) == 2, timeout=30, what="two connectors")
        _queue(pg_db, practice.id, practice.number)
        wait_until_none_waiting(pg_db, timeout=240)
        log = live.sim("GET", "/sim/log").json()
        entries = log if isinstance(log, list) else log["messages"]
        per_body = Counter(entry["body"] for entry in entries)
        assert len(per_body) == TEXTS
        assert max(per_body.values()) == 1, "a text reached the carrier twice"
        with pg_db.engine.connect() as conn:
            by_connector = dict(conn.execute(text(
                "SELECT claimed_by, count(*) FROM messages GROUP BY claimed_by")).all())
            statuses = dict(conn.execute(text(
                "SELECT status, count(*) FROM messages GROUP BY status")).all())
        assert len(by_connector) == 2, "both connectors should have sent"
        assert sum(statuses.get(s, 0) for s in ("sent", "delivered")) == TEXTS
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(15)
        stop_live_server(live, server)
