"""`textdesk serve --demo` as a real process: API → connector → simulator → signed callbacks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database
from tests.e2e.conftest import free_port

DEMO_TOKEN = "td_demo_token_for_tests"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[httpx.Client]:
    db = fresh_database(tmp_path)
    url = db.url
    db.dispose()
    port = free_port()
    env = {**os.environ, "TEXTDESK_DATABASE_URL": url, "TEXTDESK_ADMIN_TOKEN": "op-token",
           "TEXTDESK_DEMO_TOKEN": DEMO_TOKEN, "TEXTDESK_CONNECTOR_POLL_SECONDS": "0.05"}
    env.pop("TEXTDESK_PUBLIC_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "textdesk.cli", "serve", "--demo", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                          headers={"Authorization": f"Bearer {DEMO_TOKEN}"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"serve did not start: {out[-2000:]}")
            time.sleep(0.1)
        yield client
    finally:
        client.close()
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        # Privacy: the process log never carries a patient's phone or a text's body.
        assert "555-0101" not in out and "5550101" not in out
        assert "Can I move it" not in out


def _wait(client: httpx.Client, path: str, predicate, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(path).json()
        if predicate(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out on {path}: {body}")
        time.sleep(0.1)


def test_demo_serve_sends_delivers_and_receives(served: httpx.Client) -> None:
    patients = served.get("/api/v1/patients").json()
    ava = next(p for p in patients if p["first_name"] == "Ava")
    r = served.post("/api/v1/messages", json={"patient_id": ava["id"],
                                              "body": "Your cleaning is Tuesday at 9:00."})
    assert r.status_code == 201, r.text
    message_id = r.json()["id"]
    done = _wait(served, f"/api/v1/messages/{message_id}", lambda m: m["status"] == "delivered")
    assert done["carrier_sid"].startswith("SM")
    assert [h["status"] for h in done["history"]][:3] == ["pending", "sending", "sent"]
    assert _wait(served, "/api/v1/connector", lambda c: c["status"] == "working")

    number = served.get("/api/v1/numbers").json()[0]["e164"]
    r = served.post("/sim/inbound", json={"from": ava["phone"], "to": number,
                                          "body": "Can I move it to 10?"})
    assert r.status_code == 200, r.text
    messages = _wait(served, f"/api/v1/patients/{ava['id']}/messages",
                     lambda ms: any(m["direction"] == "inbound" for m in ms))
    reply = next(m for m in messages if m["direction"] == "inbound")
    assert reply["status"] == "received" and reply["body"] == "Can I move it to 10?"
    logs = served.get(f"/api/v1/patients/{ava['id']}/commlogs").json()
    assert {c["direction"] for c in logs} == {"outbound", "inbound"}
