"""The connector loop: heartbeat, recover expired leases, claim → send → record."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from textdesk.carriers.base import Accepted, Carrier, CarrierError
from textdesk.config import Settings
from textdesk.connector.scheduler import TICK_SECONDS, Scheduler, jobs_for
from textdesk.kit.clock import Clock
from textdesk.media import service as media
from textdesk.messaging import dispatch
from textdesk.storage.db import Database

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 1.0


class Dispatcher:
    def __init__(self, db: Database, carrier: Carrier, settings: Settings,
                 clock: Clock | None = None, connector_id: str | None = None,
                 workers: int = 8) -> None:
        self.db = db
        db.public_url = settings.public_url  # links the scheduler's texts carry point here
        self.carrier = carrier
        self.settings = settings
        self.clock = clock or Clock()
        self.connector_id = connector_id or f"{socket.gethostname()}-{os.getpid()}-" \
                                            f"{uuid.uuid4().hex[:6]}"
        self.policy = dispatch.DispatchPolicy(
            lease=timedelta(seconds=settings.connector_lease_seconds),
            batch_size=settings.connector_batch_size,
            max_attempts=settings.connector_max_attempts)
        self.callback_url = settings.public_url.rstrip("/") + "/webhooks/twilio/status"
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.scheduler = Scheduler(db, self.clock, jobs_for(settings))

    # -- one pass --------------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim one batch and send it; returns how many texts were claimed."""
        now = self.clock.now()
        jobs = dispatch.claim(self.db, self.connector_id, now, self.policy)
        if not jobs:
            return 0
        outcomes = list(self._pool.map(
            lambda job: dispatch.send_one(self.carrier, job, self.callback_url,
                                          self.media_urls(job.media_ids)), jobs))
        accepted: list[tuple[dispatch.Job, Accepted]] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, CarrierError):
                result = dispatch.record_refused(self.db, job, outcome, self.clock.now(),
                                                 self.policy)
                log.info("message %s refused by carrier (%s): %s", job.id, outcome.error_code,
                         result)
            else:
                accepted.append((job, outcome))
        dispatch.record_accepted(self.db, accepted, self.clock.now())
        return len(jobs)

    def media_urls(self, media_ids: tuple[int, ...]) -> list[str]:
        """Signed, expiring links the carrier fetches a text's files from."""
        return media.signed_urls(self.settings, media_ids, self.clock.now())

    def drain(self, max_passes: int = 10_000) -> int:
        """Send until nothing is due (used by tests and benchmarks)."""
        total = 0
        for _ in range(max_passes):
            claimed = self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    def beat(self) -> None:
        dispatch.heartbeat(self.db, self.connector_id, socket.gethostname(), self.clock.now())

    # -- background threads ----------------------------------------------------------------
    def start(self) -> None:
        self.beat()
        for target, name in ((self._heartbeat_loop, "heartbeat"), (self._send_loop, "dispatch"),
                             (self._schedule_loop, "scheduler")):
            thread = threading.Thread(target=target, name=f"connector-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_forever(self) -> None:
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        finally:
            self.stop()

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.settings.connector_heartbeat_seconds):
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat failed")

    def _schedule_loop(self) -> None:
        # Its own thread: a slow job never delays sending (each job logs its own failures).
        while not self._stop.wait(TICK_SECONDS):
            self.scheduler.run_due()

    def housekeeping(self) -> None:
        """Recover expired leases and adopt early callbacks; cheap, but not every pass."""
        now = self.clock.now()
        dispatch.recover_expired(self.db, self.carrier, now)
        dispatch.adopt_orphan_callbacks(self.db, now)

    def _send_loop(self) -> None:
        last_housekeeping = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() - last_housekeeping >= HOUSEKEEPING_SECONDS:
                    self.housekeeping()
                    last_housekeeping = time.monotonic()
                if not self.run_once():
                    self._stop.wait(dispatch.idle_seconds(
                        self.db, self.clock.now(), self.settings.connector_poll_seconds))
            except Exception:
                log.exception("dispatch pass failed")
                self._stop.wait(1.0)
