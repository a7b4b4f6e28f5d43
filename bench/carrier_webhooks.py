"""Carrier webhooks: signed inbound texts and status callbacks from 32 concurrent senders, beside
a one-INSERT form endpoint in the same server.

Seeds one practice (SQLite in a temporary directory by default; --database-url for an empty
PostgreSQL database) with opted-in patients and as many `sent` texts carrying a carrier sid,
serves textdesk in a uvicorn process of its own, and in the same run posts:
  baseline  POST /bench/one-insert-form: the same form body, one INSERT per request;
  inbound   POST /webhooks/twilio/inbound, signed, each a new MessageSid from a patient's
            phone (stored once, matched to the patient, commlog, conversation, reply rules);
  status    POST /webhooks/twilio/status, signed, `delivered` for each sent text.
Prints each rate with p50/p99 and the ratio to the baseline (goal ≥ 0.5 with p99 ≤ 50 ms).
Not a test: run it by hand.

    .venv/bin/python bench/webhooks.py [--count 3000] [--senders 32]
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from decimal import Decimal
from typing import Any

import serving
from sqlalchemy import insert, select, text

from textdesk.carriers.twilio import sign
from textdesk.storage.db import Database
from textdesk.storage.models import Conversation, Message

ACCOUNT = "AC" + "0" * 32


def sid(kind: str, i: int) -> str:
    return f"SM{kind}{i:031x}"[:34]


def seed_sent(db: Database, seeded: serving.Seeded, count: int) -> list[str]:
    """`count` texts the carrier accepted (status `sent`, a sid each), one per patient."""
    now = serving.NOW
    with db.transaction() as s:
        s.execute(insert(Conversation), [
            {"practice_id": seeded.practice_id, "phone_e164": serving.phone(i),
             "patient_id": pid, "last_message_at": now, "unread_count": 0,
             "needs_review": False, "is_shared_phone": False, "is_blocked": False,
             "last_preview": "Reminder"} for i, pid in enumerate(seeded.patient_ids)])
        conversations = dict(s.execute(select(Conversation.phone_e164, Conversation.id)).all())
        sids = [sid("a", i) for i in range(count)]
        s.execute(insert(Message), [
            {"practice_id": seeded.practice_id, "clinic_id": seeded.clinic_id,
             "conversation_id": conversations[serving.phone(i % len(seeded.patient_ids))],
             "patient_id": seeded.patient_ids[i % len(seeded.patient_ids)],
             "direction": "outbound", "kind": "manual", "status": "sent", "body": "Reminder",
             "to_e164": serving.phone(i % len(seeded.patient_ids)),
             "from_e164": serving.NUMBER, "carrier": "twilio", "carrier_sid": sids[i],
             "segments": 1, "encoding": "GSM-7", "cost_usd": Decimal("0.0079"), "attempts": 1,
             "next_attempt_at": now, "is_read": True, "created_at": now - timedelta(minutes=1),
             "updated_at": now, "sent_at": now} for i in range(count)])
    return sids


def signed(base: str, path: str, params: dict[str, str]) -> dict[str, Any]:
    return {"path": path, "data": params,
            "headers": {"X-Twilio-Signature": sign(serving.AUTH_TOKEN, base + path, params)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="requests per case")
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--database-url", help="an empty database (default: a SQLite file)")
    args = parser.parse_args()
    db = serving.empty_database(args.database_url)
    seeded = serving.seed(db, args.patients)
    sids = seed_sent(db, seeded, args.count + 200)
    proc, base = serving.start(db.url)
    try:
        def inbound(i: int, kind: str = "b") -> dict[str, Any]:
            return signed(base, "/webhooks/twilio/inbound", {
                "MessageSid": sid(kind, i), "AccountSid": ACCOUNT,
                "From": serving.phone(i % args.patients), "To": serving.NUMBER,
                "Body": f"Running {i % 10} minutes late, sorry", "NumMedia": "0"})

        def status(i: int) -> dict[str, Any]:
            return signed(base, "/webhooks/twilio/status", {
                "MessageSid": sids[i], "AccountSid": ACCOUNT, "MessageStatus": "delivered",
                "To": serving.phone(i % args.patients), "From": serving.NUMBER})

        def form(i: int) -> dict[str, Any]:
            request = inbound(i, "c")
            request["path"] = "/bench/one-insert-form"
            return request

        serving.drive(base, [form(i) for i in range(200)], args.senders)  # warm every path
        serving.drive(base, [inbound(i, "d") for i in range(200)], args.senders)
        serving.drive(base, [status(args.count + i) for i in range(200)], args.senders)
        print(serving.machine(db))
        print(f"{args.senders} concurrent senders, {args.count:,} requests per case\n")
        baseline = serving.drive(base, [form(i) for i in range(200, 200 + args.count)],
                                 args.senders)
        print(baseline.line("baseline: POST /bench/one-insert-form"))
        received = serving.drive(base, [inbound(i) for i in range(args.count)], args.senders)
        print(received.line("inbound: POST /webhooks/twilio/inbound"))
        reported = serving.drive(base, [status(i) for i in range(args.count)], args.senders)
        print(reported.line("status: POST /webhooks/twilio/status"))
        for load, codes in ((received, {200}), (reported, {204})):
            if set(load.statuses) != codes:
                raise SystemExit(f"unexpected answers: {load.statuses}")
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT count(*) FROM messages WHERE direction = "
                                       "'inbound'")).scalar()
            delivered = conn.execute(text("SELECT count(*) FROM messages WHERE status = "
                                          "'delivered'")).scalar()
        print(f"\nstored {stored:,} inbound texts, {delivered:,} texts delivered")
        print(f"ratio to the one-INSERT endpoint: inbound "
              f"{serving.ratio(received.rate, baseline.rate)}, status "
              f"{serving.ratio(reported.rate, baseline.rate)} (goal ≥ 0.5, p99 ≤ 50 ms)")
    finally:
        proc.terminate()
        proc.wait()
        db.dispose()


if __name__ == "__main__":
    main()
