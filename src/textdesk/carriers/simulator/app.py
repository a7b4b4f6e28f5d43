"""The local carrier simulator: Twilio's Messages API, signed callbacks, patients who reply."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import random
import re
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import phonenumbers
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from textdesk.carriers.simulator.callbacks import CallbackJob, CallbackResult, CallbackWorker
from textdesk.carriers.simulator.control import control_router
from textdesk.carriers.simulator.lookup import lookup_router
from textdesk.carriers.simulator.meter import Meter, answer_delay
from textdesk.carriers.simulator.protocol import (
    SimMedia,
    SimMessage,
    callback_params,
    error_response,
    inbound_params,
    injected_failure,
    media_urls_of,
    new_sid,
    refusal_code,
)
from textdesk.carriers.simulator.state import SimulatorState
from textdesk.carriers.twilio import API_VERSION, default_keyword_type, public_webhook_url
from textdesk.domain.segments import count_segments

log = logging.getLogger(__name__)

INBOUND_WEBHOOK_PATH = "/webhooks/twilio/inbound"
LANDLINE_ERROR = 30006
FILTERED_ERROR = 30007
MEDIA_FETCH_ERROR = 11200  # Twilio: HTTP retrieval failure (a MediaUrl it could not fetch)
MEDIA_FILES_PATH = "/sim/media-files"
OPTED_OUT_ERROR = 21610
NO_SUCH_SERVICE_ERROR = 21701
# What Twilio's default keyword handling answers, itself, on the patient's behalf.
AUTO_REPLIES = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages "
            "from this number. Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. Reply "
             "HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}
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
        self.meter = Meter()
        self.rng = random.Random()
        self.lookups: list[str] = []  # every Lookup v2 request, in order
        self.worker = CallbackWorker(auth_token, self._apply_due, self._record_result,
                                     timeout=callback_timeout)
        self.router = APIRouter(tags=["carrier simulator"])
        self.router.include_router(_carrier_router(self))
        self.router.include_router(control_router(self))
        self.router.include_router(lookup_router(self))

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
        self.meter.reset()
        self.lookups.clear()

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

    def sender_of(self, form: dict[str, Any]) -> str:
        """The From of a create: given, or picked from the messaging service's pool, the same
        number for the same recipient every time (Twilio's sticky sender)."""
        service = str(form.get("MessagingServiceSid") or "")
        if form.get("From") or not service:
            return str(form.get("From", ""))
        pool = self.state.service_numbers(service) or [""]
        return pool[zlib.crc32(str(form.get("To", "")).encode()) % len(pool)]

    def refusal(self, form: dict[str, Any]) -> int | None:
        """What this carrier's own state refuses: an unknown messaging service, or a phone
        that opted out at the carrier (21610 until it texts START)."""
        service = str(form.get("MessagingServiceSid") or "")
        if service and not form.get("From") and not self.state.service_numbers(service):
            return NO_SUCH_SERVICE_ERROR
        from_ = self.sender_of(form)
        if (self.state.keyword_replies(from_) == "carrier"
                and self.state.is_opted_out(service or self.state.sender_key(from_),
                                            str(form.get("To", "")))):
            return OPTED_OUT_ERROR
        return None

    def accept(self, form: dict[str, Any], answer_delay: float = 0.0,
               media_fetches: list[dict[str, Any]] | None = None) -> SimMessage:
        """Take a valid text: record it and queue its status callbacks."""
        body = str(form.get("Body", ""))
        media_urls = media_urls_of(form)
        validity = str(form.get("ValidityPeriod", ""))
        message = SimMessage(
            sid=new_sid("MM" if media_urls else "SM"), account_sid=self.account_sid,
            to=str(form["To"]), from_=self.sender_of(form), body=body,
            direction="outbound-api", status="queued",
            # An MMS is one part, however long its body (Twilio reports num_segments 1).
            num_segments=1 if media_urls else max(count_segments(body).segments, 1),
            date_created=self.now(), monotonic=time.monotonic(),
            status_callback=str(form.get("StatusCallback") or "") or None,
            media_urls=media_urls, media_fetches=list(media_fetches or []),
            messaging_service_sid=str(form.get("MessagingServiceSid") or "") or None,
            validity_period=int(validity) if validity.isdigit() else None)
        self.state.add(message)
        self._schedule(message, self.outcome(message), answer_delay)
        return message

    def outcome(self, message: SimMessage) -> Outcome:
        """The statuses the carrier reports for a text, in the order it reports them."""
        behaviour = self.state.behaviour
        landline = self.state.landline_status(message.to)
        if any(f.get("status_code") != 200 for f in message.media_fetches):
            events: Outcome = [("failed", MEDIA_FETCH_ERROR)]
        elif landline == "failed":
            events = [("failed", LANDLINE_ERROR)]
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
    def inbound_request(self, from_: str, to: str, body: str, media: list[SimMedia] | None = None,
                        media_base_url: str | None = None
                        ) -> tuple[SimMessage, str, dict[str, str]]:
        """A patient's text as the carrier holds it, the webhook URL, and Twilio's form.

        Its files (an MMS) are served at Twilio-shaped Media URLs under `media_base_url`
        (this simulator as it was called), behind the account's basic auth.
        """
        media = list(media or [])
        message = SimMessage(
            sid=new_sid("MM" if media else "SM"), account_sid=self.account_sid, to=to,
            from_=from_, body=body, direction="inbound", status="received",
            num_segments=max(count_segments(body).segments, 1), date_created=self.now(),
            monotonic=time.monotonic(), media=media,
            messaging_service_sid=self.state.service_of(to))
        self.state.add(message)
        url = public_webhook_url(self.public_url, INBOUND_WEBHOOK_PATH)
        params = inbound_params(message, _country_of(from_), _country_of(to),
                                media_base_url or self.public_url,
                                opt_out_type=self.handle_keyword(message))
        return message, url, params

    async def fetch_media(self, urls: list[str]) -> list[dict[str, Any]]:
        """GET each MediaUrl as Twilio does before sending an MMS (no credentials)."""
        found: list[dict[str, Any]] = []
        async with httpx.AsyncClient(timeout=self.webhook_timeout,
                                     follow_redirects=True) as client:
            for url in urls:
                entry: dict[str, Any] = {"url": url, "status_code": None, "content_type": None,
                                         "size": None, "error": None}
                try:
                    response = await client.get(url)
                except httpx.HTTPError as exc:
                    entry["error"] = type(exc).__name__
                else:
                    entry.update(status_code=response.status_code,
                                 content_type=response.headers.get("content-type"),
                                 size=len(response.content))
                found.append(entry)
        return found

    def handle_keyword(self, message: SimMessage) -> str | None:
        """A number whose keywords the carrier answers: STOP / START / HELP get the carrier's
        own reply, STOP blocks texts to the phone (21610) until START; returns OptOutType."""
        if self.state.keyword_replies(message.to) != "carrier":
            return None
        kind = default_keyword_type(message.body)
        if kind is None:
            return None
        sender = self.state.sender_key(message.to)
        if kind == "STOP":
            self.state.opt_out(sender, message.from_)
        elif kind == "START":
            self.state.opt_in(sender, message.from_)
        self.state.record_auto_reply({
            "to": message.from_, "from": message.to, "opt_out_type": kind,
            "body": AUTO_REPLIES[kind], "in_reply_to": message.sid,
            "at": self.now().isoformat(timespec="microseconds")})
        return kind


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
        sim.meter.enter()
        try:
            return await _create(sim, await request.form())
        finally:
            sim.meter.leave()

    @router.get(messages_path + ".json")
    def list_messages(account_sid: str, request: Request) -> Response:
        if not sim.is_authorized(request.headers.get("authorization"), account_sid):
            return error_response(20003, 401)
        try:
            return JSONResponse(_list_page(sim, request))
        except ValueError:
            return error_response(20001, 400, "Invalid filter or paging parameter")

    @router.get(messages_path + "/{sid}/Media/{media_sid}")
    def fetch_media_file(account_sid: str, sid: str, media_sid: str,
                         request: Request) -> Response:
        """A received file, as Twilio serves it with media URL authentication on: the
        account's basic auth, then a redirect to where the bytes are (needing none)."""
        if not sim.is_authorized(request.headers.get("authorization"), account_sid):
            return error_response(20003, 401)
        found = sim.state.media_file(media_sid)
        if found is None or found[1] != sid:
            return error_response(20404, 404)
        return RedirectResponse(f"{MEDIA_FILES_PATH}/{media_sid}", status_code=307)

    @router.get(MEDIA_FILES_PATH + "/{media_sid}")
    def media_file(media_sid: str) -> Response:
        found = sim.state.media_file(media_sid)
        if found is None:
            return error_response(20404, 404)
        return Response(found[0].data, media_type=found[0].content_type or None)

    @router.get(messages_path + "/{sid}.json")
    def fetch_message(account_sid: str, sid: str, request: Request) -> Response:
        if not sim.is_authorized(request.headers.get("authorization"), account_sid):
            return error_response(20003, 401)
        message = sim.state.get(sid)
        if message is None:
            return error_response(20404, 404)
        return JSONResponse(message.as_resource())

    return router


async def _create(sim: Simulator, raw_form: Any) -> Response:
    """One create: refused (injected failure, bad request, over a rate) or taken, answered
    after the latency."""
    behaviour = sim.state.behaviour
    delay = answer_delay(behaviour.latency_ms, behaviour.latency_jitter_ms, sim.rng)
    form = _form_values(raw_form)
    failure = sim.state.take_injected_failure()
    code = None if failure else (refusal_code(form) or sim.refusal(form))
    if not failure and not code:
        throttled = sim.meter.admit(
            form.get("From") or form.get("MessagingServiceSid", ""),
            1 if media_urls_of(form) else max(count_segments(form.get("Body", "")).segments, 1),
            account_rate=behaviour.account_creates_per_second,
            number_rate=behaviour.number_segments_per_second,
            queue_seconds=behaviour.queue_seconds)
        if throttled is not None:
            if delay:
                await asyncio.sleep(delay)
            return error_response(throttled, 429)
    fetches = (await sim.fetch_media(media_urls_of(form))
               if not failure and not code and behaviour.fetch_media else [])
    message = (None if failure or code
               else sim.accept(form, answer_delay=delay, media_fetches=fetches))
    if delay:
        await asyncio.sleep(delay)
    if failure:
        return injected_failure(failure)
    if message is None:
        return error_response(code or 21211, 400)
    return JSONResponse(message.as_resource(), status_code=201)


def _form_values(form: Any) -> dict[str, Any]:
    """A create form: one string per name, except `MediaUrl`, which may repeat (a list)."""
    values: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == "MediaUrl":
            values.setdefault(key, []).append(str(value))
        else:
            values[key] = str(value)
    return values


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
