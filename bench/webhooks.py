"""Event webhooks: what the outbox costs a status change, and how fast the connector delivers.

Seeds one practice (SQLite in a temporary directory by default; --database-url for an empty
PostgreSQL database) with --texts queued texts. Then, in the same run:

  outbox    cancel half the texts with no webhook endpoint (the baseline: the status change
            alone), then the other half with one endpoint subscribed to
            `message.status_changed` (each change also queues a delivery); µs per change;
  delivery  raw: the deliveries' bodies POSTed to a local receiver with httpx from as many
            threads as the connector uses (the receiver's and the network's ceiling);
            then the connector's pass (`Deliverer.run`: claim under a lease, sign, POST,
            record) delivering the same number; deliveries per second.

Prints both figures, their ratios, the core count and the database. Not a test: run it by hand.

    .venv/bin/python bench/webhooks.py [--texts 4000] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from textdesk.domain.messages import MessageKind
from textdesk.messaging.service import cancel, queue_message
from textdesk.practice.service import add_number, create_clinic, create_practice
from textdesk.storage import schema
from textdesk.storage.db import Database
from textdesk.storage.models import Message, WebhookDelivery
from textdesk.webhooks import service as webhooks
from textdesk.webhooks.delivery import WORKERS, Deliverer
from textdesk.webhooks.sender import Sender

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
SECRET_KEY = "bench-secret-key"


class Quick(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

    def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def seed(db: Database, texts: int) -> int:
    with db.transaction() as session:
        practice, _token = create_practice(session, "Bench Dental", NOW)
        clinic = create_clinic(session, practice, "Main", "+12125550100", None, NOW)
        number = add_number(session, practice, clinic.id, "+15005550006", "local", NOW)
        for i in range(texts):
            queue_message(session, practice, to_e164=f"+1212{2000000 + i % 500:07d}",
                          from_e164=number.e164, number_id=number.id, clinic_id=clinic.id,
                          body=f"Reminder #{i}", kind=MessageKind.AUTOMATED, now=NOW)
        return practice.id


def cancel_half(db: Database, practice_id: int, half: int) -> float:
    """Seconds to cancel `half` pending texts, 100 to a transaction."""
    started = time.perf_counter()
    done = 0
    while done < half:
        with db.transaction() as session:
            batch = list(session.scalars(select(Message).where(
                Message.practice_id == practice_id, Message.status == "pending")
                .order_by(Message.id).limit(min(100, half - done))))
            for message in batch:
                cancel(session, message, "bench", NOW, source="bench")
            done += len(batch)
    return time.perf_counter() - started


def raw_posts(url: str, bodies: list[str]) -> float:
    with httpx.Client(timeout=5) as client, ThreadPoolExecutor(WORKERS) as pool:
        started = time.perf_counter()
        codes = list(pool.map(lambda b: client.post(url, content=b.encode()).status_code,
                              bodies))
        elapsed = time.perf_counter() - started
    assert set(codes) == {204}
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=4000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="textdesk-bench-")
    url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
    schema.upgrade(url)
    db = Database(url)
    server = Server(("127.0.0.1", 0), Quick)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver = f"http://127.0.0.1:{server.server_address[1]}/hook"
    half = args.texts // 2
    print(f"cores {os.cpu_count()}, database {db.engine.dialect.name}, texts {args.texts}")

    practice_id = seed(db, args.texts)
    baseline = cancel_half(db, practice_id, half)
    with db.transaction() as session:
        webhooks.create(session, practice_id, receiver, ["message.status_changed"], False,
                        SECRET_KEY, NOW)
    with_outbox = cancel_half(db, practice_id, half)
    with db.transaction() as session:
        bodies = list(session.scalars(select(WebhookDelivery.payload)))
    assert len(bodies) == half, len(bodies)
    print(f"outbox    status change alone {baseline / half * 1e6:8.0f} µs, with one "
          f"subscribed endpoint {with_outbox / half * 1e6:8.0f} µs "
          f"(ratio {with_outbox / baseline:.2f})")

    raw = raw_posts(receiver, bodies)
    deliverer = Deliverer(Sender(5.0), SECRET_KEY)
    started = time.perf_counter()
    delivered = 0
    while True:
        done = deliverer.run(db, NOW)
        delivered += done
        if not done:
            break
    elapsed = time.perf_counter() - started
    deliverer.close()
    with db.transaction() as session:
        left = session.scalar(select(func.count()).select_from(WebhookDelivery).where(
            WebhookDelivery.status != "delivered"))
    assert delivered == half and left == 0, (delivered, left)
    print(f"delivery  raw POSTs {half / raw:8.0f}/s, connector (claim, sign, POST, record) "
          f"{half / elapsed:8.0f}/s (ratio {raw / elapsed:.2f}), {half} deliveries")
    server.shutdown()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
