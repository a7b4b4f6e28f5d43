"""Twilio webhooks: verify the signature, store once, act, answer fast."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from textdesk.carriers.twilio import is_valid_signature, public_webhook_url
from textdesk.services import delivery, inbound, replies
from textdesk.web.deps import AppState, state

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


async def _verified_work(request: Request, work: Callable[[AppState, dict[str, str]], None],
                        answer: Response) -> Response:
    """Verify, then run `work` in one transaction off the event loop; 403 changes nothing."""
    params = await _verified_params(request)
    if params is None:
        return Response("invalid signature", status_code=403, media_type="text/plain")
    await run_in_threadpool(work, state(request), params)
    return answer


def _receive(app: AppState, params: dict[str, str]) -> None:
    with app.db.transaction() as session:
        received = inbound.receive(session, params, app.clock.now())
        if received.is_new and received.message is not None:
            replies.react(session, received.message, app.clock.now())


def _record_status(app: AppState, params: dict[str, str]) -> None:
    with app.db.transaction() as session:
        delivery.record_status_callback(session, params, app.clock.now())


@router.post("/inbound")
async def inbound_webhook(request: Request) -> Response:
    return await _verified_work(request, _receive,
                                Response(EMPTY_TWIML, media_type="application/xml"))


@router.post("/status")
async def status_webhook(request: Request) -> Response:
    return await _verified_work(request, _record_status, Response(status_code=204))
