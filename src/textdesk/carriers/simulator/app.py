"""The local carrier simulator: Twilio's Messages API, signed callbacks, patients who reply."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import phonenumbers
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from textdesk.carriers.simulator.callbacks import CallbackJob, CallbackResult, CallbackWorker
from textdesk.carriers.simulator.control import control_router
from textdesk.carriers.simulator.protocol import (
    SimMessage,
    callback_params,
    error_response,
    inbound_params,
    injected_failure,
    new_sid,
    refusal_code,
)
from textdesk.carriers.simulator.state import SimulatorState
from textdesk.carriers.twilio import API_VERSION, public_webhook_url
from textdesk.domain.segments import count_segments

log = logging.getLogger(__name__)

INBOUND_WEBHOOK_PATH = "/webhooks/twilio/inbound"
LANDLINE_ERROR = 30006
FILTERED_ERROR = 30007
_LINK = re.compile(r"(https?://|www\.)\S+|\b[a-z0-9-]+\.(com|net|org|ly|io|co|us|me|link|info)\b",
                   re.IGNORECASE)

Outcome = list[tuple[str, int | None]]


def _clock_function(clock: Any) -> Callable[[], datetime]:
    if clock is None:
        return lambda: datetime.now(UTC)
    if hasattr(clock, "now"):
        return clock.now  # type: ignore[no-any-return]
    if callable(clock):
        return clock  # type: ignore[no-any-return]
    raise TypeError("clock must have a now() method or be callable")


class Simulator:
    """The fake carrier: mount `.router` at the root of an app; `start()` its callback worker."""

    def __init__(self, auth_token: str, account_sid: str, textdesk_public_url: str,
                 clock: Any = None, *, webhook_timeout: float = 10.0,
                 callback_timeout: float = 5.0) -> None:
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.public_url = textdesk_public_url.rstrip("/")
        self.webhook_timeout = webhook_timeout
        self._now = _clock_function(clock)
        self._stopped = False
        self.state = SimulatorState()
        self.worker = CallbackWorker(auth_token, self._apply_due, self._record_result,
                                     timeout=callback_timeout)
        self.router = APIRouter(tags=["carrier simulator"])
        self.router.include_router(_carrier_router(self))
        self.router.include_router(control_router(self))

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._stopped = False
        self.worker.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped = True
        self.worker.stop(timeout)

    def create_app(self) -> FastAPI:
        """A standalone app (`textdesk simulator`) whose lifespan runs the worker."""

        @asynccontextmanager
        async def lifespan(_: FastAPI) -> AsyncIterator[None]:
            self.start()
            try:
                yield
            finally:
                await asyncio.to_thread(self.stop)

        app = FastAPI(title="textdesk carrier simulator", lifespan=lifespan)
        app.include_router(self.router)
        return app

    def now(self) -> datetime:
        return self._now()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every due status callback was delivered; False on timeout."""
        return self.worker.wait_idle(timeout)

    def reset(self) -> None:
        self.worker.clear()
        self.state.reset()

    # -- the Messages API -------------------------------------------------------------------
    def is_authorized(self, authorization: str | None, path_account_sid: str) -> bool:
        """HTTP basic auth with the account sid and auth token, for this account's path."""
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.account_sid}:{self.auth_token}".encode()
        return (hmac.compare_digest(f"{user}:{password}".encode(), expected)
                and hmac.compare_digest(path_account_sid.encode(), self.account_sid.encode()))

    def accept(self, form: dict[str, str], answer_delay: float = 0.0) -> SimMessage:
        """Take a valid text: record it and queue its status callbacks."""
        body = form.get("Body", "")
        message = SimMessage(
            sid=new_sid(), account_sid=self.account_sid, to=form["To"],
            from_=form.get("From", ""), body=body, direction="outbound-api", status="queued",
            num_segments=max(count_segments(body).segments, 1), date_created=self.now(),
            monotonic=time.monotonic(), status_callback=form.get("StatusCallback") or None)
        self.state.add(message)
        self._schedule(message, self.outcome(message), answer_delay)
        return message

    def outcome(self, message: SimMessage) -> Outcome:
        """The statuses the carrier reports for a text, in the order it reports them."""
        behaviour = self.state.behaviour
        landline = self.state.landline_status(message.to)
        if landline == "failed":
            events: Outcome = [("failed", LANDLINE_ERROR)]
        elif landline:
            events = [("sent", None), ("undelivered", LANDLINE_ERROR)]
        elif behaviour.filter_links and _LINK.search(message.body):
            events = [("sent", None), ("undelivered", FILTERED_ERROR)]
        else:
            events = [("sent", None), ("delivered", None)]
        if behaviour.reorder_callbacks:
            events.reverse()
        return events

    def _schedule(self, message: SimMessage, events: Outcome, answer_delay: float) -> None:
        behaviour = self.state.behaviour
        due = time.monotonic() + answer_delay + behaviour.callback_delay_ms / 1000
        copies = 2 if behaviour.duplicate_callbacks else 1
        for status, error_code in events:
            for copy in range(1, copies + 1):
                params = callback_params(message, status, error_code)
                self.worker.schedule(due, CallbackJob(
                    sid=message.sid, status=status, error_code=error_code,
                    url=message.status_callback, params=params, copy=copy))
        if not self._stopped and not self.worker.is_running:
            self.worker.start()

    def _apply_due(self, job: CallbackJob) -> None:
        self.state.apply_status(job.sid, job.status, job.error_code, self.now())

    def _record_result(self, result: CallbackResult) -> None:
        job = result.job
        if result.error:
            log.info("simulator callback %s for %s: %s", job.status, job.sid, result.error)
        self.state.record_callback({
            "sid": job.sid, "message_status": job.status, "error_code": job.error_code,
            "url": job.url, "copy": job.copy, "attempt": job.attempt,
            "http_status": result.http_status, "error": result.error,
            "will_retry": result.will_retry,
            "at": self.now().isoformat(timespec="microseconds"), "monotonic": time.monotonic(),
        })

    # -- patients who reply -----------------------------------------------------------------
    def inbound_request(self, from_: str, to: str, body: str) -> tuple[SimMessage, str,
                                                                         dict[str, str]]:
        """A patient's text as the carrier holds it, the webhook URL, and Twilio's form."""
        message = SimMessage(
            sid=new_sid(), account_sid=self.account_sid, to=to, from_=from_, body=body,
            direction="inbound", status="received",
            num_segments=max(count_segments(body).segments, 1), date_created=self.now(),
            monotonic=time.monotonic())
        self.state.add(message)
        url = public_webhook_url(self.public_url, INBOUND_WEBHOOK_PATH)
        params = inbound_params(message, _country_of(from_), _country_of(to))
        return message, url, params


def _country_of(number: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


# -- routes: Twilio's Messages resource -----------------------------------------------------

def _carrier_router(sim: Simulator) -> APIRouter:
    router = APIRouter()
    messages_path = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages"

    @router.post(messages_path + ".json", status_code=201)
    async def create_message(account_sid: str, request: Request) -> Response:
        if not sim.is_authorized(request.headers.get("authorization"), account_sid):
            return error_response(20003, 401)
        delay = sim.state.behaviour.latency_ms / 1000
        form = {key: str(value) for key, value in (await request.form()).items()}
        failure = sim.state.take_injected_failure()
        code = None if failure else refusal_code(form)
        message = None if failure or code else sim.accept(form, answer_delay=delay)
        if delay:
            await asyncio.sleep(delay)
        if failure:
            return injected_failure(failure)
        if message is None:
            return error_response(code or 21211, 400)
        return JSONResponse(message.as_resource(), status_code=201)

    @router.get(messages_path + ".json")
    def list_messages(account_sid: str, request: Request) -> Response:
        if not sim.is_authorized(request.headers.get("authorization"), account_sid):
            return error_response(20003, 401)
        try:
            return JSONResponse(_list_page(sim, request))
        except ValueError:
            return error_response(20001, 400, "Invalid filter or paging parameter")

    @router.get(messages_path + "/{sid}.json")
    def fetch_message(account_sid: str, sid: str, request: Request) -> Response:
        if not sim.is_authorized(request.headers.get("authorization"), account_sid):
            return error_response(20003, 401)
        message = sim.state.get(sid)
        if message is None:
            return error_response(20404, 404)
        return JSONResponse(message.as_resource())

    return router


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _list_page(sim: Simulator, request: Request) -> dict[str, Any]:
    query = request.query_params
    exact = _day(query.get("DateSent"))
    filters = {key: query[key] for key in ("To", "From", "DateSent", "DateSent>=", "DateSent<=")
               if query.get(key)}
    found = sim.state.query(
        to=query.get("To"), from_=query.get("From"),
        sent_after=exact or _day(query.get("DateSent>=")),
        sent_before=exact or _day(query.get("DateSent<=")))
    page_size = min(max(int(query.get("PageSize", 50)), 1), 1000)
    page = max(int(query.get("Page", 0)), 0)
    start = page * page_size
    items = found[start:start + page_size]

    def uri(number: int) -> str:
        return f"{request.url.path}?{urlencode({**filters, 'PageSize': page_size, 'Page': number})}"

    return {
        "messages": [m.as_resource() for m in items], "page": page, "page_size": page_size,
        "start": start, "end": start + max(len(items) - 1, 0), "uri": uri(page),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if start + page_size < len(found) else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
    }


def create_simulator(auth_token: str, account_sid: str, textdesk_public_url: str,
                     clock: Any = None, **options: Any) -> Simulator:
    """A carrier simulator calling back `textdesk_public_url`; see `Simulator`."""
    return Simulator(auth_token, account_sid, textdesk_public_url, clock, **options)
