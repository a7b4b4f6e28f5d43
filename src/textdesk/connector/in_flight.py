"""The in-flight window: up to N carrier requests at once, on one event loop of its own.

A carrier answers a create in 100-300 ms; texts sent one after another by a few threads can
never pass a few dozen a second. The window keeps up to `size` creates in flight on
keep-alive connections (an asynchronous client on this loop), so the connector's rate is
bounded by the carrier, not by waiting (docs/decisions/0180-in-flight-window.md).

Two things pace it besides the claim's per-number pace (campaign texts, G4):
- the account: `account_rate` segments a second across every number (Twilio meters an
  account as well as each number), by the same slot arithmetic as a number's pace;
- the carrier itself: a create answered 429 / 20429 (too many requests) or 30001 (queue
  overflow) is not a failure. Its sender's lane pauses, each pause twice the last (up to
  `MAX_PAUSE`), and the text is tried again in the window; only after `SLOW_TRIES` such
  answers is it handed back, to be retried later as `rate_limited`.

No text waits in the window longer than `MAX_WAIT` for a pace: its lease is far longer, so
a text is never looked up by the reconciliation while it is still about to be sent.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from textdesk.carriers.base import Accepted, Carrier, CarrierError
from textdesk.domain.pacing import Pace, Slot, admit
from textdesk.messaging import dispatch

SLOW_STATUS = 429
SLOW_CODES = frozenset({20429, 30001})  # Too Many Requests; the sender's queue overflowed
SLOW_TRIES = 6
FIRST_PAUSE = 0.05
MAX_PAUSE = 2.0
MAX_WAIT = 5.0
# The carrier meters creates as they arrive: texts let out evenly may arrive closer after the
# network's jitter, so the account's pace keeps this fraction in reserve.
ACCOUNT_MARGIN = 0.05
# Texts claimed ahead of a free place, as a fraction of the window: a claim takes tens of
# milliseconds, in which a busy window frees dozens of places.
BACKLOG = 0.25

Outcome = Accepted | CarrierError


@runtime_checkable
class AsyncCarrier(Protocol):
    """A carrier that can send on an event loop (Twilio over keep-alive connections)."""

    sends_async: bool

    async def send_async(self, *, from_: str, to: str, body: str, status_callback: str,
                         media_urls: Sequence[str] = (),
                         messaging_service_sid: str | None = None,
                         validity_seconds: int | None = None,
                         connections: int = 200) -> Accepted: ...

    async def aclose(self) -> None: ...


def is_slow_down(error: CarrierError) -> bool:
    """The carrier asks us to send more slowly; the text itself is fine."""
    return error.http_status == SLOW_STATUS or error.error_code in SLOW_CODES


@dataclass
class Lane:
    """One sender's state in the window: when it may send again after the carrier's 429."""

    open_at: float = 0.0
    pause: float = 0.0

    def throttled(self, now: float) -> None:
        """The carrier refused for pace: pause this sender, longer each time in a row. Texts
        of the lane already waiting do not stretch the pause again (one refusal, one step)."""
        if now < self.open_at:
            return
        self.pause = min(max(self.pause * 2, FIRST_PAUSE), MAX_PAUSE)
        self.open_at = now + self.pause

    def answered(self) -> None:
        self.pause = 0.0


@dataclass
class Gate:
    """The account's pace and each sender's lane, kept on the window's loop (one thread)."""

    account_rate: float | None = None
    clock: Callable[[], float] = time.monotonic
    lanes: dict[str, Lane] = field(default_factory=dict)
    _slot: Slot | None = None

    def lane(self, sender: str) -> Lane:
        return self.lanes.setdefault(sender, Lane())

    def delay(self, sender: str, segments: int) -> float:
        """Seconds to wait before this text may start; its place is taken when 0 is returned."""
        now = self.clock()
        wait = self.lane(sender).open_at - now
        if wait > 0:
            return wait
        if not self.account_rate:
            return 0.0
        moment = datetime.fromtimestamp(now, UTC)
        pace = Pace(self.account_rate, margin=ACCOUNT_MARGIN)
        admission = admit(self._slot or Slot(moment, moment.date()), moment, [segments], pace)
        if admission.taken:
            self._slot = admission.state
            return 0.0
        until = admission.wait_until or moment + timedelta(seconds=0.01)
        return max((until - moment).total_seconds(), 0.001)


class Window:
    """Sends claimed texts, up to `size` at once, each resolving a Future with its outcome."""

    def __init__(self, carrier: Carrier, size: int, callback_url: str,
                 media_urls: Callable[[tuple[int, ...]], list[str]],
                 account_rate: float | None = None) -> None:
        self.carrier = carrier
        self.size = max(size, 1)
        self.callback_url = callback_url
        self.media_urls = media_urls
        self.gate = Gate(account_rate)
        # Decided once: a protocol's isinstance is slow, and was 5% of a busy connector's time.
        self._async: AsyncCarrier | None = (
            carrier if isinstance(carrier, AsyncCarrier) and carrier.sends_async else None)
        self._loop = asyncio.new_event_loop()
        if self._async is None:  # a synchronous carrier: its sends wait in threads instead
            self._loop.set_default_executor(
                ThreadPoolExecutor(min(self.size, 64), thread_name_prefix="send"))
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="connector-in-flight")
        self._thread.start()
        self._slots = asyncio.run_coroutine_threadsafe(self._semaphore(), self._loop).result()
        self.peak = 0
        self._open = 0

    async def _semaphore(self) -> asyncio.Semaphore:
        return asyncio.Semaphore(self.size)

    def room(self, in_flight: int) -> int:
        """How many more texts may be handed to the window with `in_flight` already in it (sent
        or waiting for a place): its free places and a short backlog (`BACKLOG` of its size),
        so a place that frees while the next claim is being written is taken at once; and no
        more than the account's pace sends in half of `MAX_WAIT` (so a claimed text is not
        handed back for waiting too long behind the others). At most `size` are ever sent
        at once."""
        limit = self.size + int(self.size * BACKLOG)
        if self.gate.account_rate:
            limit = min(limit, max(int(self.gate.account_rate * MAX_WAIT / 2), 1))
        return max(limit - in_flight, 0)

    def submit(self, job: dispatch.Job) -> Future[Outcome]:
        return asyncio.run_coroutine_threadsafe(self._send(job), self._loop)

    def send_all(self, jobs: Sequence[dispatch.Job]) -> list[Outcome]:
        """Each job's outcome, in order, once all have their answer."""
        return [future.result() for future in [self.submit(job) for job in jobs]]

    async def _send(self, job: dispatch.Job) -> Outcome:
        async with self._slots:
            self._open += 1
            self.peak = max(self.peak, self._open)
            try:
                return await self._send_paced(job)
            finally:
                self._open -= 1

    async def _send_paced(self, job: dispatch.Job) -> Outcome:
        sender = job.messaging_service_sid or job.from_
        lane = self.gate.lane(sender)
        started = self.gate.clock()
        outcome: Outcome = CarrierError("not sent", is_transient=True)
        for _ in range(SLOW_TRIES):
            while (wait := self.gate.delay(sender, job.segments)) > 0:
                if self.gate.clock() + wait - started > MAX_WAIT:
                    return CarrierError("the account's pace held it", http_status=SLOW_STATUS,
                                        is_transient=True)
                await asyncio.sleep(wait)
            outcome = await self._one(job)
            if not (isinstance(outcome, CarrierError) and is_slow_down(outcome)):
                lane.answered()
                return outcome
            lane.throttled(self.gate.clock())
        return outcome

    async def _one(self, job: dispatch.Job) -> Outcome:
        urls = self.media_urls(job.media_ids) if job.media_ids else []
        if self._async is None:
            return await asyncio.to_thread(
                dispatch.send_one, self.carrier, job, self.callback_url, urls)
        try:
            return await self._async.send_async(
                from_=job.from_, to=job.to, body=job.body, status_callback=self.callback_url,
                media_urls=urls, messaging_service_sid=job.messaging_service_sid,
                validity_seconds=dispatch.whole_seconds(job.validity_seconds),
                connections=self.size)
        except CarrierError as error:
            return error

    def close(self) -> None:
        if self._loop.is_closed():
            return
        if self._async is not None:
            asyncio.run_coroutine_threadsafe(self._async.aclose(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()
