"""The background worker that POSTs signed status callbacks when they fall due."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from textdesk.carriers.twilio import SIGNATURE_HEADER, sign

log = logging.getLogger(__name__)

_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


@dataclass
class CallbackJob:
    """One status report about one text: applied to the carrier's record, then POSTed."""

    sid: str
    status: str
    error_code: int | None
    url: str | None
    params: dict[str, str]
    copy: int = 1  # 2 for the duplicate of a duplicated callback
    attempt: int = 1
    epoch: int = 0  # set by the worker; a clear() makes older jobs stale


@dataclass(frozen=True)
class CallbackResult:
    job: CallbackJob
    http_status: int | None
    error: str | None
    will_retry: bool


class CallbackWorker:
    """Delivers jobs in due order on one thread; never blocks whoever schedules them."""

    def __init__(self, auth_token: str, on_due: Callable[[CallbackJob], None],
                 on_result: Callable[[CallbackResult], None], *, timeout: float = 5.0,
                 max_attempts: int = 4, retry_backoff: float = 0.1) -> None:
        self._auth_token = auth_token
        self._on_due = on_due
        self._on_result = on_result
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._heap: list[tuple[float, int, CallbackJob]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._epoch = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- control ----------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="simulator-callbacks",
                                            daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def is_running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def schedule(self, due: float, job: CallbackJob) -> None:
        """Queue `job` for `due` (a time.monotonic() value)."""
        with self._cond:
            job.epoch = self._epoch
            self._push(due, job)

    def clear(self) -> None:
        """Drop every queued job; one in flight finishes but is not reported or retried."""
        with self._cond:
            self._heap.clear()
            self._epoch += 1
            self._cond.notify_all()

    def _push(self, due: float, job: CallbackJob) -> None:
        with self._cond:
            heapq.heappush(self._heap, (due, next(self._seq), job))
            self._cond.notify_all()

    def _is_current(self, job: CallbackJob) -> bool:
        with self._cond:
            return job.epoch == self._epoch

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._busy

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued callback was delivered (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    # -- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        with httpx.Client(timeout=self._timeout) as client:
            while True:
                job = self._next_due()
                if job is None:
                    return
                try:
                    self._deliver(client, job)
                except Exception:  # the worker must outlive any one bad callback
                    log.exception("simulator callback for %s crashed", job.sid)
                finally:
                    with self._cond:
                        self._busy -= 1
                        self._cond.notify_all()

    def _next_due(self) -> CallbackJob | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                if self._heap and self._heap[0][0] <= now:
                    self._busy += 1
                    return heapq.heappop(self._heap)[2]
                wait = self._heap[0][0] - now if self._heap else None
                self._cond.wait(wait)
            return None

    def _deliver(self, client: httpx.Client, job: CallbackJob) -> None:
        if not self._is_current(job):
            return
        if job.attempt == 1:
            self._on_due(job)
        if not job.url:
            return
        headers = {SIGNATURE_HEADER: sign(self._auth_token, job.url, job.params)}
        http_status: int | None = None
        error: str | None = None
        retryable = False
        try:
            http_status = client.post(job.url, data=job.params, headers=headers).status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
            retryable = isinstance(exc, _RETRYABLE)
        if not self._is_current(job):
            return
        will_retry = error is not None and retryable and job.attempt < self._max_attempts
        self._on_result(CallbackResult(job, http_status, error, will_retry))
        if will_retry:
            delay = self._retry_backoff * 2 ** (job.attempt - 1)
            job.attempt += 1
            self._push(time.monotonic() + delay, job)
