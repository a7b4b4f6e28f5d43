"""Inbox, conversation and search latency at 1,000,000 texts in 100,000 conversations.

Bulk-loads one practice (SQLite in a temporary directory by default; --database-url for an
empty PostgreSQL database) with raw `INSERT … SELECT` statements: 100,000 conversations
(80% with a patient, 10% unread), 10 texts each with their history entry, then ANALYZE. Times,
in-process through the inbox service in read-only transactions, each case's p50/p95 beside
  baseline  a primary-key lookup of one text (`session.get`, a fresh read transaction).
Goal: inbox first page p95 ≤ 30 ms. Not a test: run it by hand.

    .venv/bin/python bench/inbox.py [--conversations 100000] [--texts-each 10] [--repeat 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import serving
from sqlalchemy import text

from textdesk.inbox import service as inbox
from textdesk.storage.db import Database
from textdesk.storage.models import Message

GOAL_MS = 30.0
NAMES = ["Nguyen", "Okafor", "Diaz", "Patel", "Rossi", "Smith", "Kim", "Garcia", "Cohen",
         "Haddad"]


def load(db: Database, conversations: int, each: int) -> tuple[int, int]:
    """The practice and its data; returns (practice id, a conversation with its texts)."""
    seeded = serving.seed(db, 0)
    p, c = seeded.practice_id, seeded.clinic_id
    patients = conversations * 8 // 10
    sqlite = db.is_sqlite
    series = ("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {top}) "
              "SELECT i FROM n" if sqlite else "SELECT generate_series(0, {top}) AS i")
    phone = ("'+1415' || substr('0000000' || (2000000 + i), -7)" if sqlite
             else "'+1415' || lpad((2000000 + i)::text, 7, '0')")
    now = "datetime('now')" if sqlite else "now()"
    minutes = ("datetime('now', '-' || ({x}) || ' minutes')" if sqlite
               else "now() - ({x}) * interval '1 minute'")
    true, false = ("1", "0") if sqlite else ("true", "false")
    last = f"CASE i % 10 {' '.join(f'WHEN {k} THEN {v!r}' for k, v in enumerate(NAMES))} END"
    statements = [
        f"INSERT INTO patients (practice_id, clinic_id, first_name, last_name, phone_raw, "
        f"phone_e164, phone_check, phone_region, created_at) SELECT {p}, {c}, 'Pat' || i, "
        f"{last}, {phone}, {phone}, 'ok', 'US', {now} FROM ({series.format(top=patients - 1)}) s",
        f"INSERT INTO conversations (practice_id, phone_e164, patient_id, lead_id, "
        f"is_shared_phone, unread_count, needs_review, is_blocked, last_message_at, "
        f"last_preview) SELECT {p}, {phone}, NULL, NULL, {false}, "
        f"CASE WHEN i % 10 = 0 THEN 1 ELSE 0 END, {false}, {false}, {minutes.format(x='i')}, "
        f"'Text number ' || i FROM ({series.format(top=conversations - 1)}) s",
        f"UPDATE conversations SET patient_id = (SELECT id FROM patients WHERE "
        f"patients.practice_id = {p} AND patients.phone_e164 = conversations.phone_e164) "
        f"WHERE practice_id = {p}",
        f"INSERT INTO messages (practice_id, clinic_id, conversation_id, patient_id, direction, "
        f"kind, status, body, to_e164, from_e164, carrier, segments, encoding, cost_usd, "
        f"attempts, next_attempt_at, is_read, created_at, updated_at, sent_at) "
        f"SELECT {p}, {c}, cv.id, cv.patient_id, "
        f"CASE WHEN k.i % 3 = 0 THEN 'inbound' ELSE 'outbound' END, "
        f"CASE WHEN k.i % 3 = 0 THEN 'inbound' ELSE 'manual' END, "
        f"CASE WHEN k.i % 3 = 0 THEN 'received' ELSE 'delivered' END, "
        f"'Message ' || k.i || ' about the appointment', "
        f"CASE WHEN k.i % 3 = 0 THEN '{serving.NUMBER}' ELSE cv.phone_e164 END, "
        f"CASE WHEN k.i % 3 = 0 THEN cv.phone_e164 ELSE '{serving.NUMBER}' END, 'twilio', 1, "
        f"'GSM-7', 0.0079, 1, {now}, {true}, {minutes.format(x='200 - k.i')}, {now}, {now} "
        f"FROM conversations cv CROSS JOIN ({series.format(top=each - 1)}) k "
        f"WHERE cv.practice_id = {p} ORDER BY cv.id, k.i",
        "INSERT INTO message_events (message_id, status, source, applied, at) "
        f"SELECT id, status, 'callback', {true}, created_at FROM messages",
        "ANALYZE",
    ]
    for statement in statements:
        started = time.perf_counter()
        with db.engine.begin() as conn:
            conn.execute(text(statement))
        print(f"  {statement.split('(')[0].split(' SET')[0][:40]:40} "
              f"{time.perf_counter() - started:6.1f} s")
    with db.engine.connect() as conn:
        busy = conn.execute(text("SELECT conversation_id FROM messages ORDER BY id LIMIT 1"
                                 )).scalar()
    return p, int(busy or 0)


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--texts-each", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    args = parser.parse_args()
    db = serving.empty_database(args.database_url)
    started = time.perf_counter()
    practice_id, thread_id = load(db, args.conversations, args.texts_each)
    with db.engine.connect() as conn:
        texts = conn.execute(text("SELECT count(*) FROM messages")).scalar() or 0
        top = conn.execute(text("SELECT max(id) FROM messages")).scalar() or 1
    print(f"loaded {texts:,} texts in {args.conversations:,} conversations in "
          f"{time.perf_counter() - started:.0f} s\n")
    print(serving.machine(db))
    rng = random.Random(7)
    now = serving.NOW

    def read(work: Callable[[Any], Any]) -> Callable[[], None]:
        def call() -> None:
            with db.read() as session:
                work(session)
        return call

    def thread_of(session: Any, conversation_id: int) -> None:
        inbox.get_conversation(session, practice_id, conversation_id)
        inbox.thread(session, practice_id, conversation_id, now)
        inbox.thread_stamp(session, practice_id, conversation_id)

    cases: list[tuple[str, Callable[[], None]]] = [
        ("baseline: a text by primary key",
         read(lambda s: s.get(Message, rng.randint(1, int(top))))),
        ("inbox, first page", read(lambda s: inbox.inbox(s, practice_id, now=now))),
        ("inbox, unread", read(lambda s: inbox.inbox(s, practice_id, view="unread", now=now))),
        ("inbox, page 50", read(lambda s: inbox.inbox(s, practice_id, page=50, now=now))),
        ("inbox poll (stamp)", read(lambda s: inbox.inbox_stamp(s, practice_id))),
        ("conversation thread (newest)", read(lambda s: thread_of(s, thread_id))),
        ("conversation thread (random)",
         read(lambda s: thread_of(s, rng.randint(1, args.conversations)))),
        ("search by name", read(lambda s: inbox.inbox(s, practice_id, search="okafor"))),
        ("search by phone", read(lambda s: inbox.inbox(s, practice_id, search="415-201-23"))),
    ]
    print(f"\n{'case':34} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
    base_p95 = 0.0
    inbox_p95 = 0.0
    for name, call in cases:
        samples = timed(call, args.repeat)
        p50 = statistics.median(samples)
        p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
        if name.startswith("baseline"):
            base_p95 = p95
        if name == "inbox, first page":
            inbox_p95 = p95
        print(f"{name:34} {p50:8.1f} {p95:8.1f} {p95 / base_p95 if base_p95 else 0:15.0f}")
    print(f"\ninbox first page p95 {inbox_p95:.1f} ms: "
          f"{'within' if inbox_p95 <= GOAL_MS else 'OVER'} the {GOAL_MS:.0f} ms goal")
    db.dispose()


if __name__ == "__main__":
    main()
