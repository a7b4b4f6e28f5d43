"""An Open Dental simulator served over real HTTP (a local uvicorn thread), and a practice
connected to it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_TOKEN
from tests.helpers import Practice, make_practice
from textdesk.config import Settings
from textdesk.integrations import service, sync
from textdesk.integrations.opendental.client import OpenDentalClient
from textdesk.integrations.opendental.office import Office
from textdesk.integrations.opendental.simulator import MOUNT_PREFIX, OpenDentalSimulator
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database
from textdesk.storage.models import SystemConnection

SECRET = "test-secret-key-for-sealing"


class OfficeClock:
    """The office's own clock (naive local time), moved by the tests."""

    def __init__(self) -> None:
        self.at = datetime(2026, 3, 2, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.at

    def tick(self, seconds: int = 60) -> None:
        from datetime import timedelta
        self.at += timedelta(seconds=seconds)


@dataclass
class Served:
    sim: OpenDentalSimulator
    base_url: str
    clock: OfficeClock

    @property
    def office(self) -> Office:
        return self.sim.office


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_simulator(sim: OpenDentalSimulator) -> tuple[uvicorn.Server, threading.Thread, str]:
    app = FastAPI()
    app.include_router(sim.router, prefix=MOUNT_PREFIX)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}{MOUNT_PREFIX}"


@pytest.fixture
def od() -> Iterator[Served]:
    clock = OfficeClock()
    sim = OpenDentalSimulator(Office(now=clock))
    server, thread, url = serve_simulator(sim)
    yield Served(sim, url, clock)
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url, admin_token=ADMIN_TOKEN,
                    public_url="http://testserver", secret_key=SECRET)


def quick_opener(settings: Settings, timeout: float = 5.0) -> sync.Opener:
    """The service's opener with a short timeout (a slow office is a timeout, not a hang)."""
    real = service.opener(settings)

    def open_system(connection: SystemConnection, timezone: str) -> OpenDentalClient:
        client = real(connection, timezone)
        assert isinstance(client, OpenDentalClient)
        client.http.timeout = timeout  # type: ignore[assignment]
        return client
    return open_system


@pytest.fixture
def connected(client: TestClient, od: Served) -> Practice:
    practice = make_practice(client)
    r = client.put("/api/v1/integrations/opendental", headers=practice.auth, json={
        "base_url": od.base_url, "developer_key": od.office.developer_key,
        "customer_key": od.office.customer_key})
    assert r.status_code == 200, r.text
    return practice


def run_sync(db: Database, settings: Settings, clock: FrozenClock, practice: Practice,
             *, tables: bool = True, timeout: float = 5.0) -> sync.SyncResult:
    return sync.sync_practice(db, practice.id, "opendental", quick_opener(settings, timeout),
                              clock.now(), tables=tables)
