"""The Open Dental simulator speaks the documented protocol: auth, paging, DateTStamp."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from textdesk.integrations.opendental.office import Office, fill
from textdesk.integrations.opendental.simulator import MOUNT_PREFIX, OpenDentalSimulator

pytestmark = pytest.mark.once


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 2, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def office_clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(office_clock: Clock) -> OpenDentalSimulator:
    simulator = OpenDentalSimulator(Office(now=office_clock))
    fill(simulator.office, patients=250, appointments=120)
    return simulator


@pytest.fixture
def http(sim: OpenDentalSimulator) -> TestClient:
    app = FastAPI()
    app.include_router(sim.router, prefix=MOUNT_PREFIX)
    return TestClient(app, base_url="http://od")


AUTH = {"Authorization": "ODFHIR sim-developer-key/sim-customer-key"}


def test_a_bad_key_gets_401(http: TestClient) -> None:
    r = http.get(f"{MOUNT_PREFIX}/patients/Simple",
                 headers={"Authorization": "ODFHIR sim-developer-key/wrong"})
    assert r.status_code == 401
    assert http.get(f"{MOUNT_PREFIX}/patients/Simple").status_code == 401


def test_lists_come_100_at_a_time_with_offset(http: TestClient) -> None:
    seen: list[int] = []
    offset = 0
    while True:
        page = http.get(f"{MOUNT_PREFIX}/patients/Simple", params={"Offset": offset},
                        headers=AUTH).json()
        assert len(page) <= 100
        seen += [row["PatNum"] for row in page]
        if len(page) < 100:
            break
        offset += 100
    assert seen == list(range(1, 251))
    small = http.get(f"{MOUNT_PREFIX}/appointments", params={"Limit": 7}, headers=AUTH).json()
    assert len(small) == 7 and all("serverDateTime" in row for row in small)


def test_date_t_stamp_returns_only_what_changed(http: TestClient, sim: OpenDentalSimulator,
                                               office_clock: Clock) -> None:
    first = http.get(f"{MOUNT_PREFIX}/patients/Simple", headers=AUTH).json()
    cursor = first[0]["serverDateTime"]
    office_clock.at += timedelta(minutes=5)
    sim.office.update_patient(17, TxtMsgOk="No")
    sim.office.update_patient(42, WirelessPhone="(415) 555-0199")
    changed = http.get(f"{MOUNT_PREFIX}/patients/Simple", params={"DateTStamp": cursor},
                       headers=AUTH).json()
    # The cursor's own second is included (">="); nothing was stamped then but the import.
    assert [r["PatNum"] for r in changed if r["DateTStamp"] > cursor] == [17, 42]


def test_confirm_and_text_ok_and_commlogs(http: TestClient, sim: OpenDentalSimulator) -> None:
    r = http.put(f"{MOUNT_PREFIX}/appointments/3/Confirm", json={"confirmVal": "Confirmed"},
                 headers=AUTH)
    assert r.status_code == 200
    assert sim.office.appointments[3]["confirmed"] == "Confirmed"
    assert http.put(f"{MOUNT_PREFIX}/appointments/3/Confirm",
                    json={"confirmVal": "Maybe"}, headers=AUTH).status_code == 400
    r = http.put(f"{MOUNT_PREFIX}/patients/5", json={"TxtMsgOk": "No"}, headers=AUTH)
    assert r.status_code == 200 and sim.office.patients[5]["TxtMsgOk"] == "No"
    r = http.post(f"{MOUNT_PREFIX}/commlogs", json={"PatNum": 5, "Note": "Text sent: hi",
                                                    "Mode_": "Text"}, headers=AUTH)
    assert r.status_code == 201 and r.json()["CommlogNum"] == 1
    listed = http.get(f"{MOUNT_PREFIX}/commlogs", params={"PatNum": 5}, headers=AUTH).json()
    assert [c["Note"] for c in listed] == ["Text sent: hi"]


def test_injected_faults(http: TestClient, sim: OpenDentalSimulator) -> None:
    sim.faults.fail_next = 2
    assert http.get(f"{MOUNT_PREFIX}/appointments", headers=AUTH).status_code == 500
    assert http.get(f"{MOUNT_PREFIX}/appointments", headers=AUTH).status_code == 500
    assert http.get(f"{MOUNT_PREFIX}/appointments", headers=AUTH).status_code == 200
    sim.faults.lose_next = 1
    r = http.post(f"{MOUNT_PREFIX}/commlogs", json={"PatNum": 1, "Note": "x"}, headers=AUTH)
    assert r.status_code == 502 and len(sim.office.commlogs) == 1  # written, answer lost
