"""Campaign fan-out: 100,000 patients to queued texts, against a raw INSERT … SELECT.

Seeds one practice (SQLite in a temporary directory by default; --database-url for an empty
PostgreSQL database) with 100,000 patients: 5% opted out, 10% otherwise ineligible (6% with no
marketing consent, 2% with no consent at all, 1% a landline reported by the carrier, 1% an
invalid area code), a few names beyond plain letters. Then, in the same run:

  raw       one INSERT … SELECT of the same 85,000 texts (eligibility written as SQL, the
            first name concatenated, nothing else), timed and then deleted;
  fan-out   services.campaigns.create: the audience judged by the rule engine, 100,000
            recipients with their skip reasons, conversations, 85,000 texts with signed
            recall links, segments and planned slots, their history, and the counts.

Prints rows/s of both and their ratio. Not a test: run it by hand.

    .venv/bin/python bench/campaign.py [--patients 100000] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, func, insert, select, text

from textdesk.campaigns import service as campaigns
from textdesk.domain.phone import parse_phone
from textdesk.practice.service import add_number, create_clinic, create_practice
from textdesk.storage import schema
from textdesk.storage.db import Database
from textdesk.storage.models import ConsentCurrent, Message, Patient

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
NAMES = ["Ana", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jamal",
         "Kate", "Liam", "Maria", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tomas",
         "Uma", "Victor", "Wei", "Xena", "Yusuf", "Zoe", "Mary-Jo", "O'Brien", "Ann Marie"]
UNUSUAL = ["José", "Zoë", "Łukasz", "Søren"]  # recounted in Python: not plain letters
BODY = ("Hi {first_name}, it's time for your cleaning at {clinic_name}. Book online: "
        "{recall_link} Reply STOP to opt out.")
RAW = """
INSERT INTO messages (practice_id, clinic_id, patient_id, number_id, direction, kind, status,
                      body, to_e164, from_e164, carrier, segments, encoding, cost_usd, attempts,
                      next_attempt_at, is_read, created_at, updated_at)
SELECT p.practice_id, p.clinic_id, p.id, :number_id, 'outbound', 'campaign', 'pending',
       'Hi ' || p.first_name || ', it''s time for your cleaning.', p.phone_e164, :from_e164,
       'twilio', 1, 'GSM-7', 0.0079, 0, :now, :yes, :now, :now
FROM patients p JOIN consent_current c
  ON c.practice_id = p.practice_id AND c.phone_e164 = p.phone_e164
WHERE p.practice_id = :practice_id AND c.state = 'opted_in' AND c.marketing = :yes
  AND p.phone_check = 'ok' AND p.phone_finding IS NULL
"""


def seed(db: Database, patients: int) -> tuple[int, int, str]:
    with db.transaction() as session:
        practice, _token = create_practice(session, "Bench Dental", NOW)
        practice.sms_enabled = True
        clinic = create_clinic(session, practice, "Main", "+12125550100", None, NOW)
        number = add_number(session, practice, clinic.id, "+15005550006", "local", NOW)
        number.registration_status = "approved"
        ids = (practice.id, clinic.id, number.e164)
    practice_id, clinic_id, _ = ids
    patient_rows, consent_rows = [], []
    for i in range(patients):
        raw = f"+1{123 if i % 100 == 97 else 212}{2000000 + i:07d}"  # 123: no such area
        parsed = parse_phone(raw)  # what set_phone stores, as the API would have
        name = UNUSUAL[i % len(UNUSUAL)] if i % 50 == 3 else NAMES[i % len(NAMES)]
        patient_rows.append({
            "practice_id": practice_id, "clinic_id": clinic_id, "first_name": name,
            "last_name": "Bench", "phone_raw": raw, "phone_e164": parsed.e164,
            "phone_check": parsed.problem.value if parsed.problem else "ok",
            "phone_region": parsed.region, "created_at": NOW,
            "phone_finding": "landline" if i % 100 == 98 else None})
        kind = i % 100
        if kind < 5:
            state, marketing = "opted_out", False
        elif kind < 11:
            state, marketing = "opted_in", False
        elif kind < 13:
            continue  # no consent on record
        else:
            state, marketing = "opted_in", True
        if parsed.e164:
            consent_rows.append({"practice_id": practice_id, "phone_e164": parsed.e164,
                                 "state": state, "marketing": marketing,
                                 "last_source": "import", "last_change_at": NOW})
    with db.transaction() as session:
        session.execute(insert(Patient), patient_rows)
        session.execute(insert(ConsentCurrent), consent_rows)
    return ids


def raw_insert(db: Database, practice_id: int, number_e164: str) -> tuple[int, float]:
    with db.transaction() as session:
        number_id = session.scalar(text("SELECT id FROM sending_numbers WHERE e164 = :e"),
                                   {"e": number_e164})
    started = time.perf_counter()
    with db.transaction() as session:
        result = session.execute(text(RAW), {
            "number_id": number_id, "from_e164": number_e164, "practice_id": practice_id,
            "now": NOW.replace(tzinfo=None), "yes": True})
        rows = int(result.rowcount or 0)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    with db.transaction() as session:
        session.execute(delete(Message).where(Message.practice_id == practice_id))
    return rows, elapsed


def fan_out(db: Database, practice_id: int) -> tuple[int, float, dict[str, object]]:
    started = time.perf_counter()
    with db.transaction() as session:
        from textdesk.storage import directory as practice_store

        practice = practice_store.get_practice(session, practice_id)
        assert practice is not None
        campaign = campaigns.create(session, practice, {"name": "Recall", "body": BODY}, NOW,
                                    actor="bench")
        progress = campaigns.progress(session, practice, campaign.id)
    elapsed = time.perf_counter() - started
    with db.transaction() as session:
        texts = session.scalar(select(func.count()).select_from(Message)
                               .where(Message.campaign_id == campaign.id)) or 0
        progress["rows_written"] = {
            table: session.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
            for table in ("campaign_recipients", "conversations", "messages", "message_events")}
    return int(texts), elapsed, progress


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        schema.upgrade(db.url)
        print(f"database: {db.engine.dialect.name}; seeding {args.patients:,} patients …")
        practice_id, _clinic_id, number = seed(db, args.patients)
        if not db.is_sqlite:
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        raw_rows, raw_s = raw_insert(db, practice_id, number)
        rows, fan_s, progress = fan_out(db, practice_id)
        db.dispose()
    print(f"raw INSERT … SELECT : {raw_rows:>7,} texts in {raw_s:6.2f} s = "
          f"{raw_rows / raw_s:>9,.0f} rows/s")
    print(f"campaign fan-out    : {rows:>7,} texts in {fan_s:6.2f} s = "
          f"{rows / fan_s:>9,.0f} rows/s  ({args.patients:,} patients judged)")
    print(f"fan-out / raw time  : {fan_s / raw_s:.1f}×")
    print(f"skipped by reason   : {progress['skipped_by_reason']}")
    print(f"rows the fan-out wrote: {progress['rows_written']}")
    return 0 if rows == raw_rows else 1


if __name__ == "__main__":
    sys.exit(main())
