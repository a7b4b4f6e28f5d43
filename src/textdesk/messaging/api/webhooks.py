"""Twilio webhooks: verify the signature, store once, act, answer fast."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from textdesk.carriers.base import WebhookRejected
from textdesk.carriers.twilio import (
    CARRIER_NAME,
    inbound_sid,
    is_valid_signature,
    parse_inbound,
    parse_status,
    public_webhook_url,
)
from textdesk.kit.web import AppState, state
from textdesk.messaging import delivery, inbound, replies

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks/twilio", tags=["carrier"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _verified_params(request: Request) -> dict[str, str] | None:
    form = await request.form()
    params = {k: str(v) for k, v in form.multi_items()}
    settings = state(request).settings
    url = public_webhook_url(settings.public_url, request.url.path, request.url.query)
    signature = request.headers.get("x-twilio-signature", "")
    if not signature or not is_valid_signature(settings.twilio_auth_token, url, params, signature):
        log.warning("webhook %s refused: bad or missing signature", request.url.path)
        return None
    return params


async def _verified_work(request: Request, work: Callable[[AppState, Mapping[str, str]], None],
                        answer: Response) -> Response:
    """Verify, then run `work` in one transaction off the event loop; 403 changes nothing, and
    parameters that are not Twilio's documented shapes get 400 and change nothing."""
    params = await _verified_params(request)
    if params is None:
        return Response("invalid signature", status_code=403, media_type="text/plain")
    try:
        await run_in_threadpool(work, state(request), params)
    except WebhookRejected as rejected:
        log.warning("webhook %s refused: %s", request.url.path, rejected.code)
        return JSONResponse({"error": rejected.code, "message": rejected.message}, status_code=400)
    return answer


def _receive(app: AppState, params: Mapping[str, str]) -> None:
    """A stored MessageSid makes the request a duplicate whatever its other parameters (a
    re-split signature or a Twilio retry): answered as before, nothing new (decision 0141)."""
    sid = inbound_sid(params)
    with app.db.transaction() as session:
        if inbound.already_received(session, CARRIER_NAME, sid):
            return
        text = parse_inbound(params)  # refused: the transaction has written nothing
        received = inbound.receive(session, text, app.clock.now())
        if received.is_new and received.message is not None:
            replies.react(session, received.message, app.clock.now())


def _record_status(app: AppState, params: Mapping[str, str]) -> None:
    update = parse_status(params)
    with app.db.transaction() as session:
        delivery.record_status_callback(session, update, app.clock.now())


@router.post("/inbound")
async def inbound_webhook(request: Request) -> Response:
    return await _verified_work(request, _receive,
                                Response(EMPTY_TWIML, media_type="application/xml"))


@router.post("/status")
async def status_webhook(request: Request) -> Response:
    return await _verified_work(request, _record_status, Response(status_code=204))
