"""Dispatch throughput: texts/s from API accept to `sent`, against the carrier simulator.

Starts `textdesk serve --demo` (SQLite by default; --database-url for PostgreSQL) with its
in-process simulator (no latency), then in the same run measures:
  baseline  a bare loop posting the same number of texts straight to the simulator's
            Twilio endpoint (one client, keep-alive): the carrier's own ceiling here;
  textdesk  N texts posted to POST /api/v1/messages, timed from the first accept until the
            last one is `sent` (connector claimed, carrier accepted, sid committed).
Prints both rates and their ratio. Not a test: run it by hand.

    .venv/bin/python bench/dispatch.py --count 2000
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

TOKEN = "td_bench_token"
SID = "AC00000000000000000000000000000000"
AUTH = (SID, "simulator-auth-token")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(database_url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TEXTDESK_DATABASE_URL": database_url, "TEXTDESK_DEMO_TOKEN": TOKEN,
           "TEXTDESK_CONNECTOR_POLL_SECONDS": "0.02"}
    env.pop("TEXTDESK_PUBLIC_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "textdesk.cli", "serve", "--demo", "--port",
                             str(port)], env=env, cwd=workdir, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("serve did not start")


def bare_loop(base: str, count: int) -> float:
    with httpx.Client(base_url=base, auth=AUTH) as client:
        start = time.perf_counter()
        for i in range(count):
            r = client.post(f"/2010-04-01/Accounts/{SID}/Messages.json",
                            data={"To": "+14155550101", "From": "+15005550006",
                                  "Body": f"baseline {i}"})
            r.raise_for_status()
        return count / (time.perf_counter() - start)


def through_textdesk(base: str, database_url: str, count: int) -> tuple[float, float]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers) as client:
        patient = next(p for p in client.get("/api/v1/patients").json()
                       if p["first_name"] == "Ava")
        start = time.perf_counter()
        for i in range(count):
            r = client.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                      "body": f"Reminder {i}"})
            r.raise_for_status()
        accepted = time.perf_counter()
    query = text("SELECT count(*) FROM messages WHERE direction = 'outbound' "
                 "AND status IN ('sent', 'delivered')")
    while True:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() >= count:
                break
        time.sleep(0.01)
    done = time.perf_counter()
    engine.dispose()
    return count / (accepted - start), count / (done - start)


def fresh_postgres(url: str) -> tuple[str, str]:
    """A new, empty database beside `url` (the demo seeds only an empty one)."""
    name = f"textdesk_bench_{os.getpid()}"
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name, name


def drop_postgres(url: str, name: str) -> None:
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        made = fresh_postgres(args.database_url) if args.database_url else None
        url = made[0] if made else f"sqlite:///{Path(tmp) / 'bench.db'}"
        port = free_port()
        proc = start_serve(url, port, Path(tmp))
        base = f"http://127.0.0.1:{port}"
        try:
            baseline = bare_loop(base, args.count)
            accept_rate, end_to_end = through_textdesk(base, url, args.count)
        finally:
            proc.terminate()
            proc.wait(15)
            if made:
                drop_postgres(args.database_url, made[1])
    db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"texts: {args.count}  database: {db}")
    print(f"baseline  bare loop posting to the simulator : {baseline:8.0f} texts/s")
    print(f"textdesk  API accept only                    : {accept_rate:8.0f} texts/s")
    print(f"textdesk  API accept → sent (end to end)      : {end_to_end:8.0f} texts/s")
    print(f"ratio     end to end / baseline              : {end_to_end / baseline:8.2f}")


if __name__ == "__main__":
    main()
