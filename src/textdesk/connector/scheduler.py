"""The connector's periodic jobs: a list of (name, interval, function) run on the connector's
clock, each in its own transactions, each safe to run twice and in several connectors at once.

To add a job, append a PeriodicJob to JOBS: `run(db, now)` does one pass and returns how many
things it changed (for the log). A job that fails is logged and tried again at its next turn;
it never stops the other jobs or the sending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from textdesk.services import lead_automation, reminders
from textdesk.services.clock import Clock
from textdesk.storage.db import Database

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # how often the scheduler thread looks for a due job


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[Database, datetime], int]


JOBS: list[PeriodicJob] = [
    # D4: bookings inside the appointment window win leads; silence loses them.
    PeriodicJob("lead_automation", timedelta(minutes=5), lead_automation.run),
    # G2: each appointment's reminders, once each, at their lead times.
    PeriodicJob("reminders", timedelta(minutes=1), reminders.run),
]


class Scheduler:
    """Runs each job when its interval has passed (and at once on the first tick)."""

    def __init__(self, db: Database, clock: Clock,
                 jobs: list[PeriodicJob] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.jobs = list(JOBS if jobs is None else jobs)
        self._next_at: dict[str, datetime] = {}

    def run_due(self) -> dict[str, int]:
        """One tick: run every due job; returns what each job that ran reported."""
        done: dict[str, int] = {}
        for job in self.jobs:
            now = self.clock.now()
            due_at = self._next_at.get(job.name)
            if due_at is not None and now < due_at:
                continue
            self._next_at[job.name] = now + job.every
            try:
                done[job.name] = job.run(self.db, now)
            except Exception:
                log.exception("scheduled job %s failed; it runs again at its next turn",
                              job.name)
                continue
            if done[job.name]:
                log.info("scheduled job %s changed %d", job.name, done[job.name])
        return done
