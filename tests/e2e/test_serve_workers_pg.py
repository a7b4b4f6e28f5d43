"""`textdesk serve --workers 2` on PostgreSQL: two web processes and one connector.

Which worker answered is read from the kernel: the process that holds the server side of the
client's connection. The test makes sure both answered, and that what crosses from one to the
other works: a staff session signed in on one is good on the other, failed sign-ins counted on
both throttle together, the live-update stamp one serves changes when the other took a text,
and a text accepted by either is sent by the one connector.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database
from tests.e2e.conftest import free_port
from textdesk.carriers.twilio import sign
from textdesk.config import SIMULATOR_AUTH_TOKEN
from textdesk.practice.demo import DEMO_NUMBER, DEMO_STAFF_EMAIL

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOKEN = "td_workers_token_for_tests"
PASSWORD = "workers-password"


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _worker_of(client_port: int, server_port: int, workers: set[int]) -> int | None:
    """The worker holding the server side of the connection from `client_port`."""
    wanted = f"{server_port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
            if local == wanted and int(remote, 16) == client_port:
                inodes.add(fields[9])
    for pid in workers:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    return None


class Served:
    def __init__(self, proc: subprocess.Popen[str], port: int) -> None:
        self.proc, self.port = proc, port
        self.base = f"http://127.0.0.1:{port}"

    def workers(self) -> set[int]:
        return _children(self.proc.pid)

    def client_on(self, worker: int | None = None, avoid: int | None = None,
                  **kw: object) -> tuple[httpx.Client, int]:
        """A keep-alive client whose connection a given worker (or any but `avoid`) holds.

        The kernel gives each new connection to whichever worker accepts first, and an idle
        worker may win many times running: the connections that landed elsewhere are kept open
        until one lands where wanted, and a short pause lets the other worker's loop wake."""
        tried: list[httpx.Client] = []
        try:
            for _ in range(400):
                client = httpx.Client(base_url=self.base, timeout=20,
                                      **kw)  # type: ignore[arg-type]
                client.get("/healthz")
                owner = _worker_of(self._client_port(client), self.port, self.workers())
                if owner is not None and (worker is None or owner == worker) and owner != avoid:
                    return client, owner
                tried.append(client)
                time.sleep(0.01)
        finally:
            for other in tried:
                other.close()
        raise AssertionError("no connection reached the worker wanted")

    @staticmethod
    def _client_port(client: httpx.Client) -> int:
        pool = client._transport._pool  # type: ignore[attr-defined]
        stream = pool.connections[0]._connection._network_stream
        return int(stream.get_extra_info("socket").getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    db = fresh_database(tmp_path, "postgresql")
    url = db.url
    db.dispose()
    port = free_port()
    env = {**os.environ, "TEXTDESK_DATABASE_URL": url, "TEXTDESK_DEMO_TOKEN": TOKEN,
           "TEXTDESK_DEMO_PASSWORD": PASSWORD, "TEXTDESK_CONNECTOR_POLL_SECONDS": "0.05"}
    for name in ("TEXTDESK_PUBLIC_URL", "TEXTDESK_SESSION_SECRET", "TEXTDESK_TWILIO_BASE_URL"):
        env.pop(name, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "textdesk.cli", "serve", "--demo", "--workers", "2", "--port",
         str(port)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    served = Served(proc, port)
    try:
        deadline = time.monotonic() + 60
        while len(served.workers()) < 2 or not _answers(served.base):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"serve --workers did not start: {out[-2000:]}")
            time.sleep(0.2)
        yield served
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _sign_in(client: httpx.Client, password: str = PASSWORD) -> httpx.Response:
    form = client.get("/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    return client.post("/signin", data={"email": DEMO_STAFF_EMAIL, "password": password,
                                        "csrf_token": token.group(1)})


def test_two_workers_share_sessions_throttles_live_updates_and_one_connector(
        served: Served) -> None:
    first, one = served.client_on()
    second, two = served.client_on(avoid=one)
    assert one != two and {one, two} <= served.workers()

    # A session signed in on one worker is good on the other.
    assert _sign_in(first).status_code == 303
    second.cookies.update(first.cookies)
    inbox = second.get("/inbox")
    assert inbox.status_code == 200 and "Sign in" not in inbox.text[:2000]

    # The live-update stamp served by one worker moves when the other took a text.
    before = second.get("/inbox/rows").headers["x-inbox-stamp"]
    params = {"MessageSid": "SM" + "ab" * 16, "AccountSid": "AC" + "0" * 32,
              "From": "+14155550101", "To": DEMO_NUMBER, "Body": "Running late", "NumMedia": "0"}
    url = f"{served.base}/webhooks/twilio/inbound"
    r = first.post("/webhooks/twilio/inbound", data=params,
                   headers={"X-Twilio-Signature": sign(SIMULATOR_AUTH_TOKEN, url, params)})
    assert r.status_code == 200, r.text
    after = second.get("/inbox/rows", params={"since": before})
    assert after.status_code == 200 and after.headers["x-inbox-stamp"] != before

    # A text accepted by either worker is sent by the one connector, which runs once.
    api = {"Authorization": f"Bearer {TOKEN}"}
    patients = first.get("/api/v1/patients", headers=api).json()
    ava = next(p for p in patients if p["first_name"] == "Ava")
    ids = [c.post("/api/v1/messages", json={"patient_id": ava["id"], "body": f"Hi {i}"},
                  headers=api).json()["id"] for i, c in enumerate((first, second))]
    deadline = time.monotonic() + 30
    while True:
        statuses = {second.get(f"/api/v1/messages/{i}", headers=api).json()["status"]
                    for i in ids}
        if statuses <= {"sent", "delivered"}:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)
    assert first.get("/api/v1/connector", headers=api).json()["status"] == "working"

    # Failed sign-ins on both workers count together toward the throttle.
    answers = []
    for _ in range(12):
        for client in (httpx.Client(base_url=served.base, timeout=20),
                       httpx.Client(base_url=served.base, timeout=20)):
            answers.append(_sign_in(client, "wrong-password").status_code)
            client.close()
        if 429 in answers:
            break
    assert 429 in answers, answers
    first.close()
    second.close()
