"""An error no handler knows: answered 500 `internal_error`, logged without its message, and
the keep-alive connection it came on stays open for the next request (a carrier pools them)."""

from __future__ import annotations

import logging
import socket

import pytest

from tests.e2e.conftest import ThreadedServer, free_port
from textdesk.config import Settings
from textdesk.storage.db import Database
from textdesk.web.app import create_app

SECRET = "+14155550199 said STOP"


def _request(sock: socket.socket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n")[0] + b" " + body


def test_a_500_keeps_the_connection_and_the_log_keeps_no_message(
        settings: Settings, db: Database, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings, db)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise ValueError(SECRET)

    server = ThreadedServer(app, free_port())
    server.start()
    try:
        with caplog.at_level(logging.ERROR), \
                socket.create_connection(("127.0.0.1", server.server.config.port), 5) as sock:
            first = _request(sock, "/boom")
            second = _request(sock, "/healthz")  # the same connection
    finally:
        server.stop()
    assert first.startswith(b"HTTP/1.1 500") and b'"error":"internal_error"' in first
    assert second.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in second
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ValueError" in logged and "/boom" in logged
    assert "STOP" not in logged and "4155550199" not in logged
    assert not any(r.exc_info for r in caplog.records)  # no traceback quoting the message
