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

from textdesk.automation import reminders
from textdesk.campaigns import service as campaigns
from textdesk.carriers.lookup import TwilioLookup
from textdesk.carriers.media import MediaFetcher
from textdesk.config import Settings
from textdesk.integrations import service as integrations
from textdesk.kit.clock import Clock
from textdesk.leads import automation as lead_automation
from textdesk.lookups import service as lookups
from textdesk.media import service as media
from textdesk.messaging import dispatch
from textdesk.storage.db import Database
from textdesk.webhooks.delivery import Deliverer, purge as purge_webhooks
from textdesk.webhooks.sender import Sender

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
    # G4: a running campaign with nothing left to send is completed (never by a read).
    PeriodicJob("campaign_completion", timedelta(minutes=1), campaigns.complete_finished),
    # A waiting text past its validity is canceled, never sent (the claim checks it too).
    PeriodicJob("expiry", timedelta(seconds=30), dispatch.expire_waiting),
]


def jobs_for(settings: Settings) -> list[PeriodicJob]:
    """Every job of a connector run with these settings: JOBS and those that need settings."""
    return [*JOBS, _practice_system_job(settings), *_lookup_jobs(settings), *_media_jobs(settings),
            *_webhook_jobs(settings)]


def _practice_system_job(settings: Settings) -> PeriodicJob:
    """The practice's own system: each practice synced in turn, the write-back outbox sent."""
    return PeriodicJob("practice_system", timedelta(seconds=20),
                       lambda db, now: integrations.run(db, now, settings))


def _webhook_jobs(settings: Settings) -> list[PeriodicJob]:
    """Event webhooks: due deliveries sent every second; old finished ones forgotten hourly."""
    deliverer = Deliverer(Sender(settings.webhook_timeout_seconds), settings.secret_key)
    return [PeriodicJob("webhooks", timedelta(seconds=1), deliverer.run),
            PeriodicJob("webhook_purge", timedelta(hours=1), purge_webhooks)]


def _lookup_jobs(settings: Settings) -> list[PeriodicJob]:
    """The line-type lookup pass. Each practice has a budget (its own setting, else the
    deployment's `lookup_monthly_budget`), so the pass runs even when the deployment's is 0;
    a practice with no budget is never looked up."""
    client = TwilioLookup(settings.twilio_account_sid, settings.twilio_auth_token,
                          settings.lookup_base_url, settings.carrier_timeout_seconds)
    budget = settings.lookup_monthly_budget
    return [PeriodicJob("line_type_lookups", timedelta(seconds=5),
                        lambda db, now: lookups.run_pending(db, client, now, budget))]


def _media_jobs(settings: Settings) -> list[PeriodicJob]:
    """Fetching patients' pictures from the carrier (never inside the inbound webhook)."""
    fetcher = MediaFetcher(settings.twilio_account_sid, settings.twilio_auth_token,
                           settings.carrier_base_url, settings.carrier_timeout_seconds)
    blobs = media.blob_store(settings)
    policy = media.FetchPolicy(settings.media_max_bytes, settings.media_fetch_attempts)
    return [PeriodicJob("media_fetch", timedelta(seconds=1),
                        lambda db, now: media.fetch_due(db, fetcher, blobs, now, policy))]


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
