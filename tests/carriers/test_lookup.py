"""The Lookup v2 client against the simulator's Lookup endpoint, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.carriers.conftest import ACCOUNT_SID, AUTH_TOKEN, RunningSimulator
from textdesk.carriers.base import CarrierError
from textdesk.carriers.lookup import TwilioLookup


@pytest.fixture
def lookup(running_simulator: RunningSimulator) -> Iterator[TwilioLookup]:
    running_simulator.sim.reset()
    client = TwilioLookup(ACCOUNT_SID, AUTH_TOKEN, running_simulator.url, timeout=5)
    yield client
    client.close()


def test_a_number_the_simulator_marks_is_a_landline(
        running_simulator: RunningSimulator, lookup: TwilioLookup) -> None:
    r = running_simulator.http.post("/sim/landlines", json={"number": "+14155550123"})
    assert r.status_code == 200
    answer = lookup.line_type("+14155550123")
    assert (answer.phone_e164, answer.type, answer.valid) == ("+14155550123", "landline", True)
    assert lookup.line_type("+14155550124").type == "mobile"
    assert lookup.line_type("+14159929960").type == "nonFixedVoip"
    counted = running_simulator.http.get("/sim/lookups").json()
    assert counted == {"count": 3,
                       "numbers": ["+14155550123", "+14155550124", "+14159929960"]}


def test_a_wrong_key_is_refused_and_not_transient(running_simulator: RunningSimulator) -> None:
    client = TwilioLookup(ACCOUNT_SID, "wrong", running_simulator.url, timeout=5)
    with pytest.raises(CarrierError) as refused:
        client.line_type("+14155550123")
    client.close()
    assert refused.value.http_status == 401 and refused.value.error_code == 20003
    assert not refused.value.is_transient
