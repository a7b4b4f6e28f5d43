"""Batch accept: texts/s through `POST /api/v1/messages/batch` (1,000 texts a request).

Seeds one practice (SQLite in a temporary directory by default; --database-url for an empty
PostgreSQL database) with opted-in patients, serves textdesk in a uvicorn process of its own,
and in the same run measures:
  baseline  POST /bench/one-insert from the same clients: one INSERT per request (rows/s);
  single    POST /api/v1/messages, one text a request (texts/s);
  batch     POST /api/v1/messages/batch with --size texts a request from --clients clients,
            each text judged by the rules and queued `pending` (texts/s; goal 10,000).
Not a test: run it by hand.

    .venv/bin/python bench/batch.py [--batches 30] [--size 1000] [--clients 2]
"""

from __future__ import annotations

import argparse
from typing import Any

import serving
from sqlalchemy import text

HEADERS = {"Authorization": f"Bearer {serving.TOKEN}"}
GOAL = 10_000


def batches(patients: list[int], count: int, size: int) -> list[dict[str, Any]]:
    return [{"path": "/api/v1/messages/batch", "headers": HEADERS, "json": {"messages": [
        {"patient_id": patients[(b * size + i) % len(patients)],
         "body": f"Reminder {b}-{i}: your visit is tomorrow at 9."} for i in range(size)]}}
        for b in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    args = parser.parse_args()
    db = serving.empty_database(args.database_url)
    seeded = serving.seed(db, args.patients)
    proc, base = serving.start(db.url)
    try:
        serving.drive(base, batches(seeded.patient_ids, 2, args.size), args.clients)  # warm
        print(serving.machine(db))
        print(f"{args.batches} batches of {args.size:,} texts from {args.clients} clients; "
              f"{len(seeded.patient_ids):,} patients\n")
        inserts = [{"path": "/bench/one-insert", "json": {"body": f"Reminder {i}"}}
                   for i in range(3000)]
        baseline = serving.drive(base, inserts, 32)
        print(baseline.line("baseline: POST /bench/one-insert, 32 clients", "rows"))
        singles = [{"path": "/api/v1/messages", "headers": HEADERS,
                    "json": {"patient_id": seeded.patient_ids[i % 1000], "body": f"Hi {i}"}}
                   for i in range(1000)]
        single = serving.drive(base, singles, 32)
        print(single.line("single: POST /api/v1/messages, 32 clients", "texts"))
        load = serving.drive(base, batches(seeded.patient_ids, args.batches, args.size),
                             args.clients)
        if set(load.statuses) != {200}:
            raise SystemExit(f"a batch failed: {load.statuses}")
        texts = load.rate * args.size
        print(load.line(f"batch: POST /api/v1/messages/batch ×{args.size:,}", "batches"))
        with db.engine.connect() as conn:
            queued = conn.execute(text("SELECT count(*) FROM messages WHERE status = 'pending'"
                                       )).scalar()
        print(f"\nbatch accept: {texts:,.0f} texts/s ({queued:,} texts queued in all); "
              f"{texts / single.rate:.0f}× the single send, {texts / baseline.rate:.1f}× the "
              f"one-INSERT endpoint's rows/s; goal {GOAL:,} texts/s: "
              f"{'met' if texts >= GOAL else 'NOT met'}")
    finally:
        proc.terminate()
        proc.wait()
        db.dispose()


if __name__ == "__main__":
    main()
