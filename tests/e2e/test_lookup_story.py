"""The line-type lookup over real HTTP: a new patient's landline is refused before any text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database
from tests.e2e.conftest import LiveServer, start_live_server, stop_live_server

PHONE = "+14155550123"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    live, server = start_live_server(fresh_database(tmp_path), lookup_monthly_budget=10)
    try:
        yield live
    finally:
        stop_live_server(live, server)


def test_a_new_patients_landline_is_refused_before_any_text(live: LiveServer) -> None:
    practice = live.practice()
    assert live.sim("POST", "/sim/landlines", json={"number": PHONE}).status_code == 200
    patient = live.patient(practice, "(415) 555-0123")

    def blockers() -> list[dict[str, str]]:
        r = live.http.get(f"/api/v1/patients/{patient['id']}/can-text", headers=practice.auth)
        return r.json()["blockers"]  # type: ignore[no-any-return]

    found = live.wait_for(lambda: [b for b in blockers() if b["code"] == "phone_landline"],
                          timeout=15, what="the lookup's landline blocker")
    assert "the carrier's lookup says it is a landline" in found[0]["message"].lower()
    refused = live.http.post("/api/v1/messages", json={"patient_id": patient["id"],
                                                       "body": "Your crown is ready."},
                             headers=practice.auth)
    assert refused.status_code == 422 and refused.json()["error"] == "send_blocked"
    assert live.sim("GET", "/sim/log").json() == []  # the carrier never saw a text
    assert live.sim("GET", "/sim/lookups").json()["numbers"] == [PHONE]

    # A phone edit leaves the landline's answer behind; the new phone is asked once.
    edited = live.http.patch(f"/api/v1/patients/{patient['id']}",
                             json={"wireless_phone": "(415) 555-0177"}, headers=practice.auth)
    assert edited.status_code == 200
    assert not [b for b in blockers() if b["code"] == "phone_landline"]
    live.wait_for(lambda: live.sim("GET", "/sim/lookups").json()["count"] == 2, timeout=15,
                  what="the new phone's lookup")
    live.http.patch(f"/api/v1/patients/{patient['id']}",
                    json={"wireless_phone": "(415) 555-0123"}, headers=practice.auth)
    assert [b for b in blockers() if b["code"] == "phone_landline"]  # the kept answer
    assert live.sim("GET", "/sim/lookups").json()["count"] == 2  # not asked again
