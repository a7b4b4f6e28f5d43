"""A page's id is bounded like the API's: past 2^63-1 it is refused, below it a missing row."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers import make_patient
from tests.pages.helpers import desk
from textdesk.domain.ids import MAX_ID
from textdesk.kit.clock import FrozenClock
from textdesk.storage.db import Database

_READ = ["/patients/{}", "/conversations/{}", "/test-text/{}"]
_WRITE = ["/patients/{}/phone", "/commlogs/{}/delete", "/conversations/{}/send",
          "/leads/{}/stage", "/settings/numbers/{}/replies"]


@pytest.mark.parametrize(("written", "status"), [
    (str(2**31), 404), (str(MAX_ID), 404), (str(MAX_ID + 1), 422), ("1" * 5000, 422)])
def test_a_pages_id_is_a_404_or_a_422_never_a_500(client: TestClient, db: Database,
                                                  clock: FrozenClock, written: str,
                                                  status: int) -> None:
    staff = desk(client, db, clock)
    token = staff.csrf()
    for path in _READ:
        r = client.get(path.format(written), follow_redirects=False)
        assert r.status_code == status, (path, r.text[:200])
    for path in _WRITE:
        r = client.post(path.format(written), follow_redirects=False,
                        data={"csrf_token": token, "body": "Hi", "stage": "won", "phone": "x"})
        assert r.status_code == status, (path, r.text[:200])
    r = client.post("/commlogs/1/delete", data={"csrf_token": token,
                                                "conversation_id": str(MAX_ID + 1)})
    assert r.status_code == 422


def test_a_refused_new_number_keeps_the_old_one(client: TestClient, db: Database,
                                                clock: FrozenClock) -> None:
    staff = desk(client, db, clock)
    patient = make_patient(client, staff.practice)
    r = client.post(f"/patients/{patient['id']}/phone", follow_redirects=False,
                    data={"csrf_token": staff.csrf(), "phone": "call me", "agrees": "on"})
    assert r.status_code == 400 and "phone_unparseable" in r.text
    again = client.get(f"/api/v1/patients/{patient['id']}", headers=staff.practice.auth).json()
    assert again["phone"] == patient["phone"]
