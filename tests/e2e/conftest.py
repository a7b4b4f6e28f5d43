"""A live textdesk: the app, the in-process carrier simulator and a connector, over real HTTP.

`live_server` runs uvicorn on a free port in a thread; the connector sends through the Twilio
protocol to the simulator mounted on the same server, which calls the signed webhooks back.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from tests.conftest import ADMIN_TOKEN, fresh_database
from tests.helpers import Practice, make_patient, make_practice
from textdesk.carriers.simulator import create_simulator
from textdesk.carriers.twilio import TwilioCarrier
from textdesk.config import Settings
from textdesk.connector.dispatcher import Dispatcher
from textdesk.storage.db import Database
from textdesk.web.app import create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedServer:
    """uvicorn in a background thread; `stop()` shuts it down."""

    def __init__(self, app: Any, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class LiveServer:
    base_url: str
    db: Database
    settings: Settings
    simulator: Any
    dispatcher: Dispatcher
    http: httpx.Client
    _extra: list[Callable[[], None]] = field(default_factory=list)

    def practice(self, **kwargs: Any) -> Practice:
        """A practice; `keyword_replies` is set on both sides: textdesk's number and the
        simulated carrier's (who answers STOP / START / HELP)."""
        practice = make_practice(self.http, **kwargs)  # type: ignore[arg-type]
        if kwargs.get("keyword_replies"):
            r = self.sim("POST", "/sim/numbers", json={
                "number": practice.number, "keyword_replies": kwargs["keyword_replies"]})
            assert r.status_code == 200, r.text
        return practice

    def patient(self, practice: Practice, phone: str = "(415) 555-0123",
                **kwargs: Any) -> dict[str, Any]:
        return make_patient(self.http, practice, phone, **kwargs)  # type: ignore[arg-type]

    def sim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0,
                 what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def message(self, practice: Practice, message_id: int) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/messages/{message_id}", headers=practice.auth)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def wait_status(self, practice: Practice, message_id: int, status: str,
                    timeout: float = 10.0) -> dict[str, Any]:
        return self.wait_for(  # type: ignore[no-any-return]
            lambda: (m := self.message(practice, message_id))["status"] == status and m,
            timeout, f"message {message_id} to be {status}")


def start_live_server(db: Database, *, with_connector: bool = True,
                      **settings_overrides: Any) -> tuple[LiveServer, ThreadedServer]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    options: dict[str, Any] = {"database_url": db.url, "admin_token": ADMIN_TOKEN,
                               "public_url": base_url, "connector_poll_seconds": 0.05,
                               "connector_heartbeat_seconds": 0.5,
                               "media_dir": tempfile.mkdtemp(prefix="textdesk-media-")}
    options.update(settings_overrides)
    settings = Settings(**options)
    simulator = create_simulator(auth_token=settings.twilio_auth_token,
                                 account_sid=settings.twilio_account_sid,
                                 textdesk_public_url=base_url)
    simulator.start()
    server = ThreadedServer(create_app(settings, db, simulator=simulator), port)
    server.start()
    carrier = TwilioCarrier(settings.twilio_account_sid, settings.twilio_auth_token, base_url,
                            timeout=15)
    dispatcher = Dispatcher(db, carrier, settings)
    if with_connector:
        dispatcher.start()
    http = httpx.Client(base_url=base_url, timeout=30,
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    return LiveServer(base_url, db, settings, simulator, dispatcher, http), server


def wait_until_none_waiting(db: Database, timeout: float, poll: float = 0.5) -> None:
    """Until no outbound text is `pending` or `sending` (the connectors have sent them all)."""
    from sqlalchemy import text

    deadline = time.monotonic() + timeout
    while True:
        with db.engine.connect() as conn:
            waiting = conn.execute(text(
                "SELECT count(*) FROM messages WHERE status IN ('pending', 'sending')"
            )).scalar_one()
        if waiting == 0:
            return
        assert time.monotonic() < deadline, f"{waiting} texts still waiting"
        time.sleep(poll)


def stop_live_server(live: LiveServer, server: ThreadedServer) -> None:
    live.dispatcher.stop()
    live.http.close()
    server.stop()
    live.simulator.stop()
    if Path(live.settings.media_dir).name.startswith("textdesk-media-"):
        shutil.rmtree(live.settings.media_dir, ignore_errors=True)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    db = fresh_database(tmp_path)
    live, server = start_live_server(db)
    try:
        yield live
    finally:
        stop_live_server(live, server)
        db.dispose()
