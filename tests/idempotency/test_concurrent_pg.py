"""Requests with one Idempotency-Key at the same moment create one text (PostgreSQL, real HTTP)."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.conftest import start_live_server, stop_live_server
from textdesk.storage.db import Database

pytestmark = pytest.mark.postgres

PARALLEL = 8


def test_concurrent_duplicates_create_one_text(pg_db: Database) -> None:
    live, server = start_live_server(pg_db, with_connector=False)
    try:
        practice = live.practice()
        patient = live.patient(practice)
        barrier = threading.Barrier(PARALLEL)
        answers: list[httpx.Response] = []

        def post() -> None:
            with httpx.Client(base_url=live.base_url, timeout=30) as http:
                barrier.wait()
                answers.append(http.post("/api/v1/messages", json={
                    "patient_id": patient["id"], "body": "See you Tuesday at 9:00."},
                    headers={**practice.auth, "Idempotency-Key": "one-text"}))

        threads = [threading.Thread(target=post) for _ in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(answers) == PARALLEL
        assert {(a.status_code, a.json()["id"]) for a in answers} == {
            (201, answers[0].json()["id"])}
        assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) \
            == PARALLEL - 1
        with pg_db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM messages")).scalar_one() == 1
    finally:
        stop_live_server(live, server)
