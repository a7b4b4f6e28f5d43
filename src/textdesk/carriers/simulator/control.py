"""The simulator's own endpoints (/sim/*): play a patient, set behaviours, read what happened."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from textdesk.carriers.twilio import SIGNATURE_HEADER, sign

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

    @router.post("/inbound")
    async def inbound(request: Request) -> Response:
        """Play a patient: deliver a text to textdesk's inbound webhook, signed, and wait."""
        data = await _payload(request)
        from_, to, body = (str(data.get(k) or "") for k in ("from", "to", "body"))
        if not from_ or not to:
            return _bad_request("from and to are required")
        return await _deliver_inbound(sim, from_, to, body)

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


async def _deliver_inbound(sim: Simulator, from_: str, to: str, body: str) -> Response:
    # Async on purpose: waiting for textdesk's answer holds no threadpool thread, so this
    # cannot starve the server it calls when both share one uvicorn process.
    message, url, params = sim.inbound_request(from_, to, body)
    headers = {SIGNATURE_HEADER: sign(sim.auth_token, url, params)}
    entry: dict[str, Any] = {"sid": message.sid, "from": from_, "to": to, "body": body,
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
    return JSONResponse({"sid": message.sid, "status_code": response.status_code})
