"""The connector loop: heartbeat, recover expired leases, claim → send → record.

Sending goes through the in-flight window (`in_flight.Window`): one thread claims as many
texts as the window has room for and hands each to it; another records the answers in
batches as they come. The window stays full while earlier texts are still on their way, and
neither thread waits for the other's transactions (decision 0180)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future
from datetime import timedelta
from functools import partial

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
        # Texts handed to the window and not yet answered; answers not yet recorded.
        self._lock = threading.Lock()
        self._out = 0
        self._answered: list[tuple[dispatch.Job, Outcome]] = []
        self._freed = threading.Event()  # an answer came: the window has a place
        self._arrived = threading.Event()  # an answer waits to be recorded
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
                             (self._record_loop, "record"), (self._schedule_loop, "scheduler")):
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
        """Claims refill the window as answers free its places; `_record_loop` records the
        answers beside it, so neither waits for the other's transactions."""
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

    def _pass(self) -> None:
        """Refill the window, then wait for a place to free (or, with nothing in flight, for
        the next due text)."""
        self._freed.clear()
        with self._lock:
            out = self._out
        room = self.window.room(out)
        # Refill when an eighth of the window is free (or it is empty): claims stay large.
        if room and (room >= max(self.window.size // 8, 1) or not out):
            jobs = self._claim(room)
            if jobs:
                self._submit(jobs)
                return
        if out:
            self._freed.wait(self.settings.connector_poll_seconds)
        else:
            self._stop.wait(dispatch.idle_seconds(
                self.db, self.clock.now(), self.settings.connector_poll_seconds))

    def _submit(self, jobs: list[dispatch.Job]) -> None:
        with self._lock:
            self._out += len(jobs)
        for job in jobs:
            self.window.submit(job).add_done_callback(partial(self._answer, job))

    def _answer(self, job: dispatch.Job, future: Future[Outcome]) -> None:
        """On the window's loop: a place is free, and the answer waits to be recorded. A send
        that broke without an answer may have reached the carrier: it is looked up, not
        sent again."""
        try:
            outcome = future.result()
        except Exception as error:  # a defect in the send path, not the carrier's answer
            log.error("send of message %s broke (%s)", job.id, type(error).__name__)
            outcome = CarrierError("the send broke", is_transient=True, maybe_taken=True)
        with self._lock:
            self._out -= 1
            self._answered.append((job, outcome))
        self._freed.set()
        self._arrived.set()

    def _record_loop(self) -> None:
        while not self._stop.is_set():
            if not self._arrived.wait(self.settings.connector_poll_seconds):
                continue
            self._stop.wait(RECORD_SECONDS)  # let answers arriving together be recorded together
            try:
                self._record_answered()
            except Exception:
                log.exception("recording answers failed")
                self._stop.wait(1.0)
        self._finish()

    def _record_answered(self) -> None:
        with self._lock:
            answered, self._answered = self._answered, []
            self._arrived.clear()
        if answered:
            self.record(answered)

    def _finish(self, timeout: float = 4.0) -> None:
        """On stop: wait for the texts in flight and record their answers; any still out
        keep their lease and are looked up by the reconciliation (never sent twice)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._freed.clear()
            with self._lock:
                if not self._out:
                    break
            self._freed.wait(0.05)
        self._record_answered()
