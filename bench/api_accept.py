"""API accept: `POST /api/v1/messages` from 32 concurrent clients, beside a one-INSERT endpoint.

Seeds one practice (SQLite in a temporary directory by default; --database-url for an empty
PostgreSQL database) with opted-in patients, serves textdesk in a uvicorn process of its own
(as `textdesk serve` does, no connector), and in the same run, from the same clients:
  baseline  POST /bench/one-insert: a route of the same app, behind the same middleware, that
            does one INSERT in one transaction per request;
  textdesk  POST /api/v1/messages: each text judged by the rules and queued `pending`;
  reads     GET /api/v1/messages/{id} from the same clients while 8 more keep sending (how
            much the writers slow the readers).
Prints the rates, p50/p99 and the ratio. Not a test: run it by hand.

    .venv/bin/python bench/api_accept.py [--count 5000] [--clients 32]
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import serving
from sqlalchemy import text

HEADERS = {"Authorization": f"Bearer {serving.TOKEN}"}


def sends(patients: list[int], count: int, tag: str) -> list[dict[str, Any]]:
    return [{"path": "/api/v1/messages", "headers": HEADERS,
             "json": {"patient_id": patients[i % len(patients)],
                      "body": f"Reminder {tag}{i}: your visit is tomorrow at 9."}}
            for i in range(count)]


def inserts(count: int) -> list[dict[str, Any]]:
    return [{"path": "/bench/one-insert", "headers": HEADERS,
             "json": {"body": f"Reminder {i}: your visit is tomorrow at 9."}}
            for i in range(count)]


async def _reads_beside_writes(base: str, reads: list[dict[str, Any]],
                               writes: list[dict[str, Any]], clients: int
                               ) -> tuple[serving.Load, serving.Load]:
    return await asyncio.gather(serving._drive(base, reads, clients),
                                serving._drive(base, writes, 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000, help="requests per case")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    args = parser.parse_args()
    db = serving.empty_database(args.database_url)
    seeded = serving.seed(db, args.patients)
    proc, base = serving.start(db.url)
    try:
        serving.drive(base, inserts(200), args.clients)  # warm both paths
        serving.drive(base, sends(seeded.patient_ids, 200, "w"), args.clients)
        print(serving.machine(db))
        print(f"{args.clients} concurrent clients, {args.count:,} requests per case, "
              f"{len(seeded.patient_ids):,} patients\n")
        baseline = serving.drive(base, inserts(args.count), args.clients)
        print(baseline.line("baseline: POST /bench/one-insert"))
        accepted = serving.drive(base, sends(seeded.patient_ids, args.count, "a"), args.clients)
        print(accepted.line("textdesk: POST /api/v1/messages", "texts"))
        if set(accepted.statuses) != {201}:
            raise SystemExit(f"not every text was accepted: {accepted.statuses}")
        with db.engine.connect() as conn:
            ids = [int(i) for i in conn.execute(text(
                "SELECT id FROM messages ORDER BY id DESC LIMIT 500")).scalars()]
        reads = [{"method": "GET", "path": f"/api/v1/messages/{ids[i % len(ids)]}",
                  "headers": HEADERS} for i in range(args.count)]
        alone = serving.drive(base, reads, args.clients)
        print(alone.line("reads: GET /api/v1/messages/{id}"))
        beside, writers = asyncio.run(_reads_beside_writes(
            base, reads, sends(seeded.patient_ids, args.count, "b"), args.clients))
        print(beside.line("reads, while 8 clients send"))
        print(writers.line("  the 8 sending clients meanwhile", "texts"))
        print(f"\nratio, API accept / one-INSERT endpoint: "
              f"{serving.ratio(accepted.rate, baseline.rate)}")
    finally:
        proc.terminate()
        proc.wait()
        db.dispose()


if __name__ == "__main__":
    main()
