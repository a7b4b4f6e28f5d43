"""How the simulated carrier meters creates, as Twilio does: an account's and a number's rate.

A create over the account's rate (creates in the last second) is answered HTTP 429 with code
20429 (Too Many Requests) and not taken. A number holds a queue: its texts leave at its rate
in segments a second, and a create that would put more than `queue_seconds` of backlog in
front of it is answered 429 with 30001 (queue overflow). The simulator answers 30001 at the
create rather than on a later status (docs/decisions/0180-in-flight-window.md).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable

TOO_MANY_REQUESTS = 20429
QUEUE_OVERFLOW = 30001


class Meter:
    """Thread-safe counters of one simulated account: what it takes, and how many at once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()  # the account's creates in the last second
        self._queue_free: dict[str, float] = {}  # per number: when its queue is empty
        self.in_flight = 0
        self.peak_in_flight = 0
        self.refused = 0

    def admit(self, sender: str, segments: int, *, account_rate: float, number_rate: float,
              queue_seconds: float) -> int | None:
        """The error code refusing this create, or None when it is taken (and counted)."""
        with self._lock:
            now = self._clock()
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if account_rate and len(self._recent) >= math.floor(account_rate):
                self.refused += 1
                return TOO_MANY_REQUESTS
            if number_rate:
                free = max(self._queue_free.get(sender, now), now)
                if queue_seconds and free - now > queue_seconds:
                    self.refused += 1
                    return QUEUE_OVERFLOW
                self._queue_free[sender] = free + max(segments, 1) / number_rate
            self._recent.append(now)
            return None

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"in_flight": self.in_flight, "peak_in_flight": self.peak_in_flight,
                    "refused_for_rate": self.refused}

    def reset(self) -> None:
        with self._lock:
            self._recent.clear()
            self._queue_free.clear()
            self.peak_in_flight = self.in_flight
            self.refused = 0


def answer_delay(latency_ms: float, jitter_ms: float, rng: random.Random) -> float:
    """Seconds before the carrier answers: the latency, give or take up to the jitter."""
    spread = rng.uniform(-jitter_ms, jitter_ms) if jitter_ms else 0.0
    return max(latency_ms + spread, 0.0) / 1000
