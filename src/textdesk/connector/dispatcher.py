"""The connector loop: heartbeat, recover expired leases, claim → send → record.

Sending goes through the in-flight window (`in_flight.Window`): the loop claims as many
texts as the window has room for, hands each to it, and records answers in batches as they
come, so the window stays full while earlier texts are still on their way."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import timedelta

from textdesk.carriers.base import Accepted, Carrier, CarrierError
from textdesk.config import Settings
from textdesk.connector.in_flight import Outcome, Window
from textdesk.connector.scheduler import TICK_SECONDS, Scheduler, jobs_for
from textdesk.kit.clock import Clock
from textdesk.media import service as media
from textdesk.messaging import dispatch
from textdesk.storage.db import Database

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 1.0
RECORD_SECONDS = 0.02  # answers are recorded together, at most this long after they came


class Dispatcher:
    def __init__(self, db: Database, carrier: Carrier, settings: Settings,
                 clock: Clock | None = None, connector_id: str | None = None,
                 in_flight: int | None = None) -> None:
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
        self.window = Window(carrier, in_flight or settings.connector_in_flight,
                             self.callback_url, self.media_urls,
                             settings.carrier_account_segments_per_second)
        self._pending: dict[Future[Outcome], dispatch.Job] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.scheduler = Scheduler(db, self.clock, jobs_for(settings))

    # -- one pass --------------------------------------------------------------------------
    def run_once(self) -> int:
        """Claim one batch, send it through the window and record every answer; returns how
        many texts were claimed."""
        jobs = self._claim(self.window.room(0))
        if jobs:
            self.record(list(zip(jobs, self.window.send_all(jobs), strict=True)))
        return len(jobs)

    def _claim(self, room: int) -> list[dispatch.Job]:
        return dispatch.claim(self.db, self.connector_id, self.clock.now(), self.policy,
                              limit=room)

    def record(self, answered: list[tuple[dispatch.Job, Outcome]]) -> None:
        """The carrier's answers: refusals one by one, accepted texts in one transaction."""
        accepted: list[tuple[dispatch.Job, Accepted]] = []
        for job, outcome in answered:
            if isinstance(outcome, CarrierError):
                result = dispatch.record_refused(self.db, job, outcome, self.clock.now(),
                                                 self.policy)
                log.info("message %s refused by carrier (%s): %s", job.id, outcome.error_code,
                         result)
            else:
                accepted.append((job, outcome))
        dispatch.record_accepted(self.db, accepted, self.clock.now())

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
        self.window.close()

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
                self._pass()
            except Exception:
                log.exception("dispatch pass failed")
                self._stop.wait(1.0)
        self._finish()

    def _pass(self) -> None:
        """Record what was answered, refill the window, then wait for the next answer (or,
        with nothing in flight, for the next due text)."""
        self._record_answered()
        room = self.window.room(len(self._pending))
        claimed = 0
        # Refill when a quarter of the window is free (or it is empty): claims stay large.
        if room and (room >= max(self.window.size // 4, 1) or not self._pending):
            jobs = self._claim(room)
            for job in jobs:
                self._pending[self.window.submit(job)] = job
            claimed = len(jobs)
        if claimed:
            return
        if self._pending:
            wait(list(self._pending), timeout=self.settings.connector_poll_seconds,
                 return_when=FIRST_COMPLETED)
            self._stop.wait(RECORD_SECONDS)  # let answers arriving together be recorded together
        else:
            self._stop.wait(dispatch.idle_seconds(
                self.db, self.clock.now(), self.settings.connector_poll_seconds))

    def _record_answered(self) -> None:
        done = [future for future in self._pending if future.done()]
        if done:
            self.record([(self._pending.pop(future), future.result()) for future in done])

    def _finish(self, timeout: float = 4.0) -> None:
        """On stop: wait for the texts in flight and record their answers; any still out
        keep their lease and are looked up by the reconciliation (never sent twice)."""
        if self._pending:
            wait(list(self._pending), timeout=timeout)
        self._record_answered()
