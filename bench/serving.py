"""What the HTTP benchmarks share: a seeded practice, textdesk served in its own process next to
the baselines, and a load generator of N concurrent clients.

The server is `create_app` under uvicorn (one process, as `textdesk serve` runs it) with two
baseline routes added to the same app, behind the same middleware:
  POST /bench/one-insert       JSON `{body}`: one INSERT in one transaction, nothing else;
  POST /bench/one-insert-form  the same from a form body (what a webhook receives).

    python bench/serving.py --serve DATABASE_URL PORT     (started by the benchmarks)
"""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import uvicorn
from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import insert, select, text
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from textdesk.config import SIMULATOR_AUTH_TOKEN, Settings
from textdesk.practice.service import add_number, create_clinic, create_practice, hash_token
from textdesk.storage import schema
from textdesk.storage.db import Database
from textdesk.storage.models import ConnectorHeartbeat, ConsentCurrent, ConsentEvent, Lead, Patient
from textdesk.web.app import create_app

TOKEN = "td_bench_http_token"
NUMBER = "+15005550006"
AUTH_TOKEN = SIMULATOR_AUTH_TOKEN
NOW = datetime.now(UTC).replace(microsecond=0)
BASELINE_TABLE = "bench_one_insert"


def phone(i: int) -> str:
    return f"+1415{2000000 + i:07d}"


@dataclass
class Seeded:
    practice_id: int
    clinic_id: int
    patient_ids: list[int]
    lead_ids: list[int] = field(default_factory=list)


def seed(db: Database, patients: int, leads: int = 0) -> Seeded:
    """One practice that may text: a clinic with a spending limit, an approved number, opted-in
    patients (and leads), a connector heartbeat from now."""
    with db.transaction() as s:
        practice, _ = create_practice(s, "Bench Dental", NOW)
        practice.api_token_hash = hash_token(TOKEN)
        practice.sms_enabled = True
        clinic = create_clinic(s, practice, "Main", "+14155550100", 100_000, NOW)
        number = add_number(s, practice, clinic.id, NUMBER, "local", NOW)
        number.registration_status = "approved"
        p, c = practice.id, clinic.id
    with db.transaction() as s:
        if patients:
            s.execute(insert(Patient), [
                {"practice_id": p, "clinic_id": c, "first_name": f"Pat{i}", "last_name": "Bench",
                 "phone_raw": phone(i), "phone_e164": phone(i), "phone_check": "ok",
                 "phone_region": "US", "created_at": NOW} for i in range(patients)])
        if leads:
            s.execute(insert(Lead), [
                {"practice_id": p, "clinic_id": c, "first_name": f"Lead{i}", "last_name": "Bench",
                 "phone_raw": phone(patients + i), "phone_e164": phone(patients + i),
                 "source": "web_form", "stage": "new", "inquiry_count": 1,
                 "last_activity_at": NOW, "stage_changed_at": NOW, "created_at": NOW,
                 "updated_at": NOW} for i in range(leads)])
        everyone = patients + leads
        if everyone:
            s.execute(insert(ConsentEvent), [
                {"practice_id": p, "phone_e164": phone(i), "action": "opt_in", "scope": "all",
                 "source": "web_form", "actor": "bench", "at": NOW} for i in range(everyone)])
            s.execute(insert(ConsentCurrent), [
                {"practice_id": p, "phone_e164": phone(i), "state": "opted_in", "marketing": True,
                 "last_source": "web_form", "last_change_at": NOW} for i in range(everyone)])
        # A heartbeat an hour ahead keeps the connector alive for the run (none runs here).
        s.add(ConnectorHeartbeat(connector_id="bench", host="bench", started_at=NOW,
                                 last_heartbeat_at=NOW + timedelta(hours=1)))
        ids = list(s.scalars(select(Patient.id).where(Patient.practice_id == p)
                             .order_by(Patient.id)))
        lead_ids = list(s.scalars(select(Lead.id).where(Lead.practice_id == p).order_by(Lead.id)))
    key = "INTEGER PRIMARY KEY" if db.is_sqlite else "BIGSERIAL PRIMARY KEY"
    with db.engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {BASELINE_TABLE} (id {key}, "
                          "body VARCHAR(2000), at VARCHAR(40))"))
    return Seeded(p, c, ids, lead_ids)


# --- the machine and the database -------------------------------------------------------------

def machine(db: Database) -> str:
    with db.engine.connect() as conn:
        version = (conn.execute(text("SELECT sqlite_version()")).scalar() if db.is_sqlite
                   else conn.execute(text("SHOW server_version")).scalar())
    name = "SQLite" if db.is_sqlite else "PostgreSQL"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPUs ({platform.machine()}), load average {load}; "
            f"database {name} {version}; Python {platform.python_version()}")


# --- the server --------------------------------------------------------------------------------

def empty_database(url: str | None) -> Database:
    """The benchmark's database, migrated: `url` (which must hold no practice yet) or a new
    SQLite file in a temporary folder."""
    db = Database(url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='textdesk-bench-'))}/bench.db")
    schema.upgrade(db.url)
    with db.engine.connect() as conn:
        if conn.execute(text("SELECT count(*) FROM practices")).scalar():
            raise SystemExit("the database is not empty; give an empty one")
    return db


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(database_url: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes],
                                                                           str]:
    """textdesk and the baselines in one uvicorn process of their own; returns it and its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__)), "--serve", database_url,
                             str(port)], env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the server exited") from None
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


class Body(BaseModel):
    body: str


def _serve(database_url: str, port: int) -> None:
    settings = Settings(database_url=database_url, public_url=f"http://127.0.0.1:{port}",
                        twilio_base_url="http://127.0.0.1:9")  # no simulator mounted
    db = Database(database_url)
    app = create_app(settings, db)
    row = text(f"INSERT INTO {BASELINE_TABLE} (body, at) VALUES (:body, :at)")

    def one_insert(body: str) -> None:
        with db.transaction() as session:
            session.execute(row, {"body": body, "at": datetime.now(UTC).isoformat()})

    @app.post("/bench/one-insert", status_code=201)
    def json_insert(payload: Body) -> dict[str, bool]:
        one_insert(payload.body)
        return {"ok": True}

    @app.post("/bench/one-insert-form")
    async def form_insert(request: Request) -> Response:
        form = await request.form()
        await run_in_threadpool(one_insert, str(form.get("Body", "")))
        return Response(status_code=204)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- the clients -------------------------------------------------------------------------------

@dataclass
class Load:
    count: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))]

    def line(self, name: str, unit: str = "requests") -> str:
        codes = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (f"{name:44} {self.rate:9,.0f} {unit}/s   p50 {self.percentile(0.5):7.1f} ms"
                f"   p99 {self.percentile(0.99):7.1f} ms   ({self.count:,}; {codes})")


def drive(base: str, requests: list[dict[str, Any]], concurrency: int) -> Load:
    """Send every request (aiohttp keyword arguments plus `method` and `path`) from
    `concurrency` clients on keep-alive connections; each client sends its next when its last
    is answered."""
    return asyncio.run(_drive(base, requests, concurrency))


async def _drive(base: str, requests: list[dict[str, Any]], concurrency: int) -> Load:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as client:
        async def one_client() -> None:
            for request in queue:
                request = dict(request)
                method, path = request.pop("method", "POST"), request.pop("path")
                began = time.perf_counter()
                async with client.request(method, path, **request) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append((time.perf_counter() - began) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Load(len(requests), seconds, latencies, statuses)


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "n/a"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        _serve(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
