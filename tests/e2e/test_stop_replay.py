"""One signed STOP delivered 200 times, 20 at a time, to a real server: it acts exactly once.

Carriers retry webhooks; proxies duplicate them. Each delivery is a real concurrent HTTP
request to uvicorn, so the idempotency of the inbound webhook (unique MessageSid) is tested
under real contention, on SQLite and, with TEXTDESK_TEST_DB=postgresql, on PostgreSQL.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.consent.support import (
    WEBHOOK,
    answers_to,
    consent_events,
    inbound_params,
    messages_with,
    signed_headers,
)
from tests.e2e.conftest import LiveServer

PHONE = "+14155550123"
DELIVERIES = 200
IN_PARALLEL = 20


def deliver_many(live: LiveServer, params: dict[str, str], times: int,
                 parallel: int) -> list[int | str]:
    """Each delivery's status, or the transport error it met (a reset connection is a failure
    too: it is what a carrier's pooled client sees after a server closed on an error)."""
    headers = signed_headers(live.settings.public_url, params)
    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=parallel)

    def deliver(http: httpx.Client) -> int | str:
        try:
            return http.post(WEBHOOK, data=params, headers=headers).status_code
        except httpx.TransportError as error:
            return repr(error)

    with httpx.Client(base_url=live.base_url, timeout=60, limits=limits) as http, \
            ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda _: deliver(http), range(times)))


def test_one_stop_delivered_200_times_acts_once(live_server: LiveServer) -> None:
    practice = live_server.practice(keyword_replies="textdesk")  # textdesk confirms
    patient = live_server.patient(practice)
    params = inbound_params(practice.number, PHONE, "STOP")

    statuses = deliver_many(live_server, params, DELIVERIES, IN_PARALLEL)

    assert statuses == [200] * DELIVERIES  # every delivery answered, none failed
    db = live_server.db
    inbound = messages_with(db, practice.id, PHONE, direction="inbound")
    assert [m.carrier_sid for m in inbound] == [params["MessageSid"]]
    assert [(e.action, e.source) for e in consent_events(db, practice.id, PHONE)] == [
        ("opt_in", "verbal"), ("opt_out", "keyword")]
    assert len(answers_to(db, practice.id, PHONE)) == 1
    consent = live_server.http.get(f"/api/v1/patients/{patient['id']}/consent",
                                   headers=practice.auth).json()
    assert consent["state"] == "opted_out"
    logs = live_server.http.get(f"/api/v1/patients/{patient['id']}/commlogs",
                                headers=practice.auth).json()
    assert [c["direction"] for c in logs].count("inbound") == 1

    # The confirmation reaches the carrier exactly once.
    sent = live_server.wait_for(
        lambda: live_server.sim("GET", "/sim/log", params={"to": PHONE}).json(),
        what="the confirmation at the carrier")
    live_server.dispatcher.drain()
    sent = live_server.sim("GET", "/sim/log", params={"to": PHONE}).json()
    assert len(sent) == 1 and "unsubscribed" in sent[0]["body"]
    assert sent[0]["from"] == practice.number
