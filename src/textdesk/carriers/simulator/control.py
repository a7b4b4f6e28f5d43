"""The simulator's own endpoints (/sim/*): play a patient, set behaviours, read what happened."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from textdesk.carriers.simulator.protocol import SimMedia, new_sid
from textdesk.carriers.simulator.samples import sample
from textdesk.carriers.twilio import SIGNATURE_HEADER, is_messaging_service_sid, sign

if TYPE_CHECKING:
    from textdesk.carriers.simulator.app import Simulator


async def _payload(request: Request) -> dict[str, Any]:
    """A JSON object or a form, keys lower-cased (`From` and `from` both work)."""
    if "json" in request.headers.get("content-type", ""):
        try:
            data = await request.json()
        except ValueError:
            return {}
    else:
        data = dict((await request.form()).items())
    return {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else {}


def _bad_request(detail: str) -> JSONResponse:
    return JSONResponse({"error": "bad_request", "detail": detail}, status_code=400)


def control_router(sim: Simulator) -> APIRouter:
    router = APIRouter(prefix="/sim")

    @router.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "worker_running": sim.worker.is_running,
                "pending_callbacks": sim.worker.pending(), **sim.state.counts()}

    @router.get("/meter")
    def meter() -> dict[str, Any]:
        """Creates in flight now and at the most, and how many were refused for a rate."""
        return sim.meter.stats()

    @router.post("/inbound")
    async def inbound(request: Request) -> Response:
        """Play a patient: deliver a text to textdesk's inbound webhook, signed, and wait.

        `media` makes it an MMS: a count of sample pictures, or a list of
        `{content_type, file: png|pdf|html, size}` (the declared type, the real content,
        padded to `size` bytes), served at Twilio-shaped URLs behind basic auth.
        """
        data = await _payload(request)
        from_, to, body = (str(data.get(k) or "") for k in ("from", "to", "body"))
        if not from_ or not to:
            return _bad_request("from and to are required")
        try:
            media = _media_of(data.get("media"))
        except ValueError as exc:
            return _bad_request(str(exc))
        return await _deliver_inbound(sim, from_, to, body, media, str(request.base_url))

    @router.get("/inbound")
    def inbound_log() -> list[dict[str, Any]]:
        return sim.state.inbound()

    @router.get("/config")
    def read_config() -> dict[str, Any]:
        return {**sim.state.behaviour.as_dict(), "public_url": sim.public_url}

    @router.post("/config")
    async def configure(request: Request) -> Response:
        try:
            data = await request.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return _bad_request("a JSON object is expected")
        public_url = data.pop("public_url", None)
        try:
            behaviour = sim.state.configure(data)
        except ValueError as exc:
            return _bad_request(str(exc))
        if isinstance(public_url, str) and public_url:
            sim.public_url = public_url.rstrip("/")
        return JSONResponse({**behaviour.as_dict(), "public_url": sim.public_url})

    @router.get("/landlines")
    def landlines() -> dict[str, str]:
        return sim.state.landlines()

    @router.post("/landlines")
    async def set_landline(request: Request) -> Response:
        data = await _payload(request)
        number = str(data.get("number") or "")
        if not number:
            return _bad_request("number is required")
        if data.get("landline") is False:
            sim.state.remove_landline(number)
            return JSONResponse({"number": number, "landline": False})
        try:
            sim.state.set_landline(number, str(data.get("status") or "undelivered"))
        except ValueError as exc:
            return _bad_request(str(exc))
        return JSONResponse({"number": number, "landline": True})

    @router.delete("/landlines/{number}")
    def remove_landline(number: str) -> Response:
        removed = sim.state.remove_landline(number)
        return JSONResponse({"number": number, "removed": removed})

    @router.get("/numbers")
    def numbers() -> dict[str, str]:
        """Who answers keywords on each number set so far (any other: the carrier)."""
        return sim.state.numbers()

    @router.post("/numbers")
    async def set_number(request: Request) -> Response:
        """`{number, keyword_replies: carrier | textdesk}`: with `carrier` (the default, as on
        Twilio) the carrier answers STOP / START / HELP itself, adds OptOutType to the inbound
        webhook and refuses texts to a phone that opted out (21610) until it texts START."""
        data = await _payload(request)
        number = str(data.get("number") or "")
        if not number:
            return _bad_request("number is required")
        try:
            sim.state.set_keyword_replies(number, str(data.get("keyword_replies") or ""))
        except ValueError as exc:
            return _bad_request(str(exc))
        return JSONResponse({"number": number,
                             "keyword_replies": sim.state.keyword_replies(number)})

    @router.get("/auto-replies")
    def auto_replies() -> list[dict[str, Any]]:
        """The carrier's own answers to keywords (never texts textdesk sent)."""
        return sim.state.auto_replies()

    @router.get("/messaging-services")
    def services() -> dict[str, list[str]]:
        return sim.state.services()

    @router.post("/messaging-services")
    async def set_service(request: Request) -> Response:
        """`{sid, numbers: [...]}`: a messaging service and its sender pool."""
        data = await _payload(request)
        sid, pool = str(data.get("sid") or ""), data.get("numbers")
        if not is_messaging_service_sid(sid):
            return _bad_request("sid must be MG followed by 32 hex digits")
        if not isinstance(pool, list) or not all(isinstance(n, str) and n for n in pool):
            return _bad_request("numbers must be a list of phone numbers")
        sim.state.set_service(sid, pool)
        return JSONResponse({"sid": sid, "numbers": pool})

    @router.post("/reset")
    def reset() -> dict[str, str]:
        sim.reset()
        return {"status": "reset"}

    @router.get("/log")
    def sent_log(request: Request) -> list[dict[str, Any]]:
        query = request.query_params
        return [m.as_log_entry() for m in sim.state.outbound(query.get("from"), query.get("to"))]

    @router.get("/callbacks")
    def callbacks(sid: str | None = None) -> list[dict[str, Any]]:
        return sim.state.callbacks(sid)

    @router.post("/wait")
    async def wait(timeout_ms: float = 10_000) -> dict[str, Any]:
        """Answer once every due status callback was delivered (or the timeout passed)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while sim.worker.pending() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return {"idle": sim.worker.pending() == 0}

    return router


_FILES = {"png": "image/png", "pdf": "application/pdf", "html": "text/html"}
MAX_SAMPLE_BYTES = 20 * 1024 * 1024


def _media_of(value: Any) -> list[SimMedia]:
    """The files of a simulated MMS, from `/sim/inbound`'s `media` (see there)."""
    if value in (None, "", 0, "0"):
        return []
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).isdigit():
        value = [{"content_type": "image/png"}] * int(value)
    if not isinstance(value, list) or len(value) > 10:
        raise ValueError("media is a count or a list of at most 10 files")
    files: list[SimMedia] = []
    for item in value:
        if not isinstance(item, dict):
            raise ValueError("each media file is an object")
        declared = str(item.get("content_type") or "image/png")
        file = str(item.get("file") or "")
        size = item.get("size")
        if file and file not in _FILES:
            raise ValueError(f"file is one of {', '.join(_FILES)}")
        if size is not None and (not isinstance(size, int) or not 0 <= size <= MAX_SAMPLE_BYTES):
            raise ValueError(f"size is a whole number of bytes up to {MAX_SAMPLE_BYTES}")
        files.append(SimMedia(new_sid("ME"), declared, sample(_FILES.get(file, declared), size)))
    return files


async def _deliver_inbound(sim: Simulator, from_: str, to: str, body: str,
                           media: list[SimMedia] | None = None,
                           media_base_url: str | None = None) -> Response:
    # Async on purpose: waiting for textdesk's answer holds no threadpool thread, so this
    # cannot starve the server it calls when both share one uvicorn process.
    message, url, params = sim.inbound_request(from_, to, body, media, media_base_url)
    headers = {SIGNATURE_HEADER: sign(sim.auth_token, url, params)}
    entry: dict[str, Any] = {"sid": message.sid, "from": from_, "to": to, "body": body,
                             "num_media": len(message.media),
                             "at": message.date_created.isoformat(timespec="microseconds"),
                             "url": url, "status_code": None, "error": None}
    try:
        async with httpx.AsyncClient(timeout=sim.webhook_timeout) as client:
            response = await client.post(url, data=params, headers=headers)
    except httpx.HTTPError as exc:
        entry["error"] = type(exc).__name__
        sim.state.record_inbound(entry)
        return JSONResponse({"sid": message.sid, "status_code": None,
                             "error": entry["error"]}, status_code=502)
    entry["status_code"] = response.status_code
    sim.state.record_inbound(entry)
    return JSONResponse({"sid": message.sid, "status_code": response.status_code,
                         "media_urls": [params[f"MediaUrl{n}"]
                                        for n in range(len(message.media))]})
