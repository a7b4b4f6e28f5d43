"""Open Dental sync throughput: rows/s of a full sync against the Open Dental simulator.

Serves the simulator over real HTTP (a local uvicorn thread) with an office of --patients
patients and --appointments appointments, then in the same run measures:
  bare      a bare httpx loop fetching the same pages (Limit/Offset, 100 a page, one client,
            keep-alive): the simulator's own ceiling here;
  textdesk  a full sync into a fresh database (SQLite by default; --database-url for
            PostgreSQL): the same pages fetched (read ahead on a thread), every patient and
            appointment upserted in bulk through the practice, consent and appointments
            services, 1,000 rows a transaction.
Prints both rates, their ratio and the machine's core count. Not a test: run it by hand.

    .venv/bin/python bench/sync.py --patients 10000 --appointments 20000
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from textdesk.config import Settings
from textdesk.integrations import service, sync
from textdesk.integrations.opendental.office import Office, fill
from textdesk.integrations.opendental.simulator import MOUNT_PREFIX, OpenDentalSimulator
from textdesk.practice import service as practice_service
from textdesk.storage import schema
from textdesk.storage.db import Database

SECRET = "bench-secret-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(sim: OpenDentalSimulator) -> tuple[uvicorn.Server, str]:
    app = FastAPI()
    app.include_router(sim.router, prefix=MOUNT_PREFIX)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}{MOUNT_PREFIX}"


def bare_fetch(base_url: str, office: Office) -> tuple[int, float]:
    auth = {"Authorization": f"ODFHIR {office.developer_key}/{office.customer_key}"}
    rows = 0
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as http:
        for path in ("/patients/Simple", "/appointments"):
            offset = 0
            while True:
                page = http.get(path, params={"Offset": offset}).json()
                rows += len(page)
                if len(page) < 100:
                    break
                offset += len(page)
    return rows, time.perf_counter() - started


def full_sync(database_url: str, base_url: str, office: Office) -> tuple[int, float]:
    db = Database(database_url)
    schema.upgrade(db.url)
    now = datetime.now(UTC)
    settings = Settings(database_url=database_url, secret_key=SECRET)
    with db.transaction() as session:
        practice, _token = practice_service.create_practice(session, "Bench Dental", now)
        practice_service.create_clinic(session, practice, "Main", None, None, now)
        service.connect(session, practice, "opendental", {
            "base_url": base_url, "developer_key": office.developer_key,
            "customer_key": office.customer_key}, settings, now)
        practice_id = practice.id
    started = time.perf_counter()
    result = sync.sync_practice(db, practice_id, "opendental", service.opener(settings), now)
    elapsed = time.perf_counter() - started
    db.dispose()
    if result.error is not None:
        raise SystemExit(f"sync failed: {result.error.kind}: {result.error.message}")
    return result.counts["patients"] + result.counts["appointments"], elapsed


@contextmanager
def fresh_database(url: str | None, tmp: str) -> Iterator[str]:
    """SQLite in `tmp`, or a new PostgreSQL database next to `url`'s, dropped afterwards."""
    if not url:
        yield f"sqlite:///{tmp}/bench.db"
        return
    name = f"textdesk_bench_{os.getpid()}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--appointments", type=int, default=20_000)
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL URL: the run uses a new database beside it")
    args = parser.parse_args()
    stamp = datetime(2026, 3, 2, 9, 0, 0)
    office = Office(now=lambda: stamp)
    fill(office, args.patients, args.appointments, start=stamp + timedelta(days=1))
    server, base_url = serve(OpenDentalSimulator(office))
    try:
        bare_rows, bare_seconds = bare_fetch(base_url, office)
        with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database_url,
                                                                  tmp) as url:
            rows, seconds = full_sync(url, base_url, office)
    finally:
        server.should_exit = True
    bare_rate, rate = bare_rows / bare_seconds, rows / seconds
    print(f"cores: {os.cpu_count()}")
    print(f"database: {(args.database_url or 'sqlite').split('://')[0]}")
    print(f"office: {args.patients} patients, {args.appointments} appointments")
    print(f"bare fetch: {bare_rows} rows in {bare_seconds:.2f} s = {bare_rate:,.0f} rows/s")
    print(f"full sync:  {rows} rows in {seconds:.2f} s = {rate:,.0f} rows/s")
    print(f"sync costs {bare_rate / rate:.2f}x the bare fetch")


if __name__ == "__main__":
    main()
