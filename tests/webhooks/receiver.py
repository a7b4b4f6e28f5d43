"""A real webhook receiver for the tests: a threaded HTTP server that verifies every request
with the Standard Webhooks reference code (`standardwebhooks.Webhook(secret).verify`), answers
as each test plans (2xx, 5xx, a slow answer past the sender's timeout, or a hang), and keeps
what it processed deduplicated by `webhook-id`, as the specification asks receivers to do.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

# What the receiver does with one request: an HTTP status, "slow" (process, then answer
# after the sender has given up: the answer is lost), or "hang" (process, then hold the
# connection until `release()`).
Plan = int | str


@dataclass
class Receiver:
    slow_seconds: float = 1.0
    secrets: dict[str, str] = field(default_factory=dict)  # path -> whsec_ secret
    plans: dict[str, deque[Plan]] = field(default_factory=dict)
    arrivals: Counter[str] = field(default_factory=Counter)  # webhook-id -> verified requests
    # path -> webhook-id -> body: each endpoint's receiver acts on an event once
    seen: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    bad_signatures: int = 0
    hanging: threading.Event = field(default_factory=threading.Event)
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver.handle(self.path, body, dict(self.headers.items()))
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up on us (a timeout): the answer is lost

            def log_message(self, *_args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # two connectors' worth of requests at once

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def expect(self, path: str, secret: str, *plan: Plan) -> None:
        self.secrets[path] = secret
        self.plans[path] = deque(plan)

    def plan(self, path: str, *plan: Plan) -> None:
        self.plans[path].extend(plan)

    def release(self) -> None:
        self._release.set()

    def handle(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            payload = Webhook(self.secrets[path]).verify(body, headers)
        except (KeyError, WebhookVerificationError):
            with self._lock:
                self.bad_signatures += 1
            return 400
        event_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self._lock:
            self.arrivals[event_id] += 1
            planned = self.plans[path]
            step = planned.popleft() if planned else 200
        if isinstance(step, int) and not 200 <= step < 300:
            return step  # refused before it was processed
        self._process(path, event_id, payload)
        if step == "slow":
            time.sleep(self.slow_seconds)
            return 200
        if step == "hang":
            self.hanging.set()
            self._release.wait(60)
            return 200
        return int(step)

    def _process(self, path: str, event_id: str, payload: dict[str, Any]) -> None:
        """Act on an event once: a repeat of a webhook-id already processed is ignored."""
        with self._lock:
            self.seen.setdefault(path, {}).setdefault(event_id, payload)

    @property
    def processed(self) -> list[str]:
        """The webhook-ids acted on, by every endpoint, in order."""
        with self._lock:
            return [i for by_id in self.seen.values() for i in by_id]

    def events(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.seen.get(path, {}).values())

    def types(self, path: str) -> list[str]:
        return [e["type"] for e in self.events(path)]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
