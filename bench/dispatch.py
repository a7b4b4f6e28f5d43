"""Connector drain: queued texts sent through the in-flight window, beside a bare async client.

In the same run, against the same carrier simulator (its own process, `textdesk simulator`,
answering each create after --latency-ms):
  baseline  a bare aiohttp client posting N creates straight to the simulator's Twilio
            endpoint with --in-flight requests at once on keep-alive connections;
  textdesk  N texts queued through POST /api/v1/messages/batch (textdesk served in its own
            process, which also takes the status callbacks), then one `textdesk connector`
            process drains them; its rate is the simulator's arrivals, first to last.
Prints the machine, both rates and their ratio. Not a test: run it by hand.

    .venv/bin/python bench/dispatch.py [--count 20000] [--latency-ms 200] [--in-flight 200]
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import serving
from sqlalchemy import text

SID = "AC00000000000000000000000000000000"
AUTH = (SID, serving.AUTH_TOKEN)
CREATE = f"/2010-04-01/Accounts/{SID}/Messages.json"


def start_process(args: list[str], env: dict[str, str],
                  ready: str | None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "textdesk.cli", *args],
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while ready and time.monotonic() < deadline:
        try:
            if httpx.get(ready).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    if ready:
        proc.kill()
        raise SystemExit(f"{args[0]} did not start")
    return proc


def bare_client(sim: str, count: int, in_flight: int) -> serving.Load:
    basic = "Basic " + base64.b64encode(f"{AUTH[0]}:{AUTH[1]}".encode()).decode()
    creates = [{"path": CREATE, "headers": {"Authorization": basic},
                "data": {"To": serving.phone(i % 1000), "From": serving.NUMBER,
                         "Body": f"baseline {i}"}} for i in range(count)]
    return serving.drive(sim, creates, in_flight)


def queue(base: str, patients: list[int], count: int) -> float:
    """`count` texts through the batch endpoint, 1,000 a request; the accept rate."""
    headers = {"Authorization": f"Bearer {serving.TOKEN}"}
    started = time.perf_counter()
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for first in range(0, count, 1000):
            items = [{"patient_id": patients[i % len(patients)], "body": f"Drain {i}"}
                     for i in range(first, min(first + 1000, count))]
            r = client.post("/api/v1/messages/batch", json={"messages": items})
            r.raise_for_status()
            refused = [x for x in r.json()["results"] if "error" in x]
            if refused:
                raise SystemExit(f"{len(refused)} texts refused: {refused[0]}")
    return count / (time.perf_counter() - started)


def drain(db_url: str, base: str, sim: str, count: int, in_flight: int) -> dict[str, Any]:
    env = {"TEXTDESK_DATABASE_URL": db_url, "TEXTDESK_PUBLIC_URL": base,
           "TEXTDESK_TWILIO_BASE_URL": sim, "TEXTDESK_CONNECTOR_IN_FLIGHT": str(in_flight),
           "TEXTDESK_CONNECTOR_BATCH_SIZE": str(max(in_flight // 2, 50)),
           "TEXTDESK_CONNECTOR_POLL_SECONDS": "0.02"}
    db = serving.Database(db_url)
    proc = start_process(["connector"], env, None)
    try:
        done = text("SELECT count(*) FROM messages WHERE status IN ('sent', 'delivered')")
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            with db.engine.connect() as conn:
                if conn.execute(done).scalar_one() >= count:
                    break
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)
    log = [e for e in httpx.get(f"{sim}/sim/log", timeout=120).json()
           if e["body"].startswith("Drain ")]
    arrivals = sorted(e["monotonic"] for e in log)
    meter = httpx.get(f"{sim}/sim/meter").json()
    return {"sent": len(log), "rate": (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]),
            "peak": meter["peak_in_flight"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    args = parser.parse_args()
    db = serving.empty_database(args.database_url)
    seeded = serving.seed(db, 1000)
    proc, base = serving.start(db.url)
    sim_port = serving.free_port()
    sim = f"http://127.0.0.1:{sim_port}"
    sim_proc = start_process(["simulator", "--port", str(sim_port)],
                             {"TEXTDESK_PUBLIC_URL": base}, f"{sim}/sim/health")
    try:
        config = {"latency_ms": args.latency_ms}
        httpx.post(f"{sim}/sim/config", json=config).raise_for_status()
        baseline = bare_client(sim, args.count, args.in_flight)
        httpx.post(f"{sim}/sim/reset").raise_for_status()
        httpx.post(f"{sim}/sim/config", json=config).raise_for_status()
        accept = queue(base, seeded.patient_ids, args.count)
        result = drain(db.url, base, sim, args.count, args.in_flight)
    finally:
        for p in (proc, sim_proc):
            p.terminate()
            p.wait(30)
    print(serving.machine(db))
    print(f"texts {args.count:,}, simulator latency {args.latency_ms:.0f} ms, "
          f"in flight {args.in_flight}")
    print(baseline.line("baseline  bare async client → simulator", "creates"))
    print(f"{'textdesk  batch accept (queued)':44} {accept:9,.0f} texts/s")
    print(f"{'textdesk  connector drain':44} {result['rate']:9,.0f} texts/s   "
          f"({result['sent']:,} sent, {result['peak']} creates in flight at the most)")
    print(f"ratio     drain / bare client: {serving.ratio(result['rate'], baseline.rate)}")


if __name__ == "__main__":
    main()
