"""The campaigns page: progress with skips by reason, pause and resume."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.automation.support import campaign, opt_out, patient
from tests.pages.helpers import csrf_of, desk
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database


def test_progress_and_pause_resume(client: TestClient, db: Database, clock: FrozenClock) -> None:
    staff = desk(client, db, clock)
    for i in range(3):
        patient(client, staff.practice, f"+1212555{i:04d}")
    out = patient(client, staff.practice, "+12125550009")
    opt_out(client, staff.practice, out)
    made = campaign(client, staff.practice, name="Spring recall")
    page = client.get("/campaigns")
    assert page.status_code == 200 and "Spring recall" in page.text
    assert 'data-count="queued">3<' in page.text and 'data-count="skipped">1<' in page.text
    assert "opted_out" in page.text
    r = client.post(f"/campaigns/{made['id']}/pause", data={"csrf_token": csrf_of(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    paused = client.get("/campaigns")
    assert 'data-status="paused"' in paused.text and ">Resume<" in paused.text
    r = client.post(f"/campaigns/{made['id']}/resume", data={"csrf_token": csrf_of(paused.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and 'data-status="running"' in client.get("/campaigns").text


def test_pause_needs_the_csrf_token(client: TestClient, db: Database, clock: FrozenClock) -> None:
    staff = desk(client, db, clock)
    patient(client, staff.practice, "+12125550001")
    made = campaign(client, staff.practice)
    r = client.post(f"/campaigns/{made['id']}/pause", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert 'data-status="running"' in client.get("/campaigns").text
