"""Real HTTP for carrier tests: uvicorn servers on free ports, a webhook receiver, the simulator."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator

from textdesk.carriers.simulator import Simulator, create_simulator
from textdesk.carriers.twilio import TwilioCarrier

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "carrier-test-auth-token"
FIXTURES = Path(__file__).parent / "fixtures"


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run `app` in a real uvicorn server on a free port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@dataclass
class ReceivedWebhook:
    path: str
    params: dict[str, str]
    signature: str | None
    is_valid: bool
    monotonic: float


@dataclass
class Receiver:
    """A stand-in for textdesk's webhooks that validates with Twilio's own RequestValidator."""

    url: str = ""
    delay: float = 0.0
    calls: list[ReceivedWebhook] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/webhooks/twilio/{kind}")
        async def webhook(kind: str, request: Request) -> Response:
            params = {k: str(v) for k, v in (await request.form()).items()}
            signature = request.headers.get("X-Twilio-Signature")
            url = f"{self.url}{request.url.path}"
            is_valid = RequestValidator(AUTH_TOKEN).validate(url, params, signature or "")
            with self.lock:
                self.calls.append(ReceivedWebhook(request.url.path, params, signature, is_valid,
                                                  time.monotonic()))
            if self.delay:
                time.sleep(self.delay)
            return Response("<Response/>", media_type="application/xml",
                            status_code=200 if is_valid else 403)

        return app

    def received(self, kind: str = "status") -> list[ReceivedWebhook]:
        with self.lock:
            return [c for c in self.calls if c.path.endswith("/" + kind)]

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
        self.delay = 0.0


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_in_thread(receiver.app()) as url:
        receiver.url = url
        yield receiver


@dataclass
class RunningSimulator:
    sim: Simulator
    url: str
    http: httpx.Client

    @property
    def messages_path(self) -> str:
        return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    def configure(self, **settings: Any) -> dict[str, Any]:
        response = self.http.post("/sim/config", json=settings)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def create(self, auth: tuple[str, str] = (ACCOUNT_SID, AUTH_TOKEN),
               **form: str) -> httpx.Response:
        return self.http.post(self.messages_path, data=form, auth=auth)


@pytest.fixture(scope="module")
def running_simulator(receiver: Receiver) -> Iterator[RunningSimulator]:
    sim = create_simulator(AUTH_TOKEN, ACCOUNT_SID, receiver.url)
    with serve_in_thread(sim.create_app()) as url, httpx.Client(base_url=url,
                                                                timeout=10) as http:
        yield RunningSimulator(sim, url, http)


@pytest.fixture
def simulator(running_simulator: RunningSimulator, receiver: Receiver) -> RunningSimulator:
    running_simulator.sim.reset()
    running_simulator.sim.public_url = receiver.url
    receiver.clear()
    return running_simulator


@pytest.fixture
def carrier(simulator: RunningSimulator) -> Iterator[TwilioCarrier]:
    carrier = TwilioCarrier(ACCOUNT_SID, AUTH_TOKEN, simulator.url, timeout=5)
    yield carrier
    carrier.close()
