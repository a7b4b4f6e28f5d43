"""The carrier simulator over real HTTP: Twilio's Messages API and the behaviours it plays."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from tests.carriers.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FIXTURES,
    RunningSimulator,
)
from textdesk.carriers.simulator import create_simulator
from textdesk.kit.clock import FrozenClock

PRACTICE = "+14155550100"
PATIENT = "+14155550123"


def _fetch(simulator: RunningSimulator, sid: str) -> dict[str, object]:
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"
    return simulator.http.get(path, auth=(ACCOUNT_SID, AUTH_TOKEN)).json()  # type: ignore


# -- the Messages API -----------------------------------------------------------------------

def test_a_create_answers_twilios_message_resource(simulator: RunningSimulator) -> None:
    response = simulator.create(To=PATIENT, From=PRACTICE, Body="Hi there")
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", body["sid"])
    assert (body["status"], body["to"], body["from"], body["body"]) == (
        "queued", PATIENT, PRACTICE, "Hi there")
    assert body["num_segments"] == "1" and body["direction"] == "outbound-api"
    assert body["account_sid"] == ACCOUNT_SID and body["api_version"] == "2010-04-01"
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000",
                        body["date_created"])
    captured = (FIXTURES / "twilio_message_create_201.json").read_text()
    assert set(body) >= set(json.loads(captured))


def test_long_and_unicode_bodies_count_segments(simulator: RunningSimulator) -> None:
    assert simulator.create(To=PATIENT, From=PRACTICE, Body="a" * 161).json()[
        "num_segments"] == "2"
    assert simulator.create(To=PATIENT, From=PRACTICE, Body="😀" * 40).json()[
        "num_segments"] == "2"


@pytest.mark.parametrize(("form", "code"), [
    ({"From": PRACTICE, "Body": "x"}, 21604),
    ({"To": PATIENT, "Body": "x"}, 21603),
    ({"To": PATIENT, "From": PRACTICE}, 21602),
    ({"To": PATIENT, "From": PRACTICE, "Body": "x" * 1601}, 21617),
    ({"To": "555-1234", "From": PRACTICE, "Body": "x"}, 21211),
    ({"To": PATIENT, "From": "+1!", "Body": "x"}, 21212),
    ({"To": PRACTICE, "From": PRACTICE, "Body": "x"}, 21266),
    ({"To": "+15005550004", "From": PRACTICE, "Body": "x"}, 21610),
    ({"To": PATIENT, "From": "+15005550007", "Body": "x"}, 21606),
])
def test_invalid_creates_get_twilios_error_document(simulator: RunningSimulator,
                                                    form: dict[str, str], code: int) -> None:
    response = simulator.create(**form)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == code and error["status"] == 400
    assert error["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert error["message"]
    assert simulator.http.get("/sim/log").json() == []


@pytest.mark.parametrize("auth", [(ACCOUNT_SID, "wrong"), ("AC" + "9" * 32, AUTH_TOKEN)])
def test_bad_credentials_get_401_20003(simulator: RunningSimulator,
                                       auth: tuple[str, str]) -> None:
    response = simulator.create(auth=auth, To=PATIENT, From=PRACTICE, Body="x")
    assert response.status_code == 401 and response.json()["code"] == 20003


def test_another_accounts_path_gets_401(simulator: RunningSimulator) -> None:
    other = f"/2010-04-01/Accounts/AC{'9' * 32}/Messages.json"
    response = simulator.http.post(other, data={"To": PATIENT, "From": PRACTICE, "Body": "x"},
                                   auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert response.status_code == 401


def test_an_unknown_sid_is_404(simulator: RunningSimulator) -> None:
    assert _fetch(simulator, "SM" + "0" * 32)["code"] == 20404


def test_the_list_filters_and_pages_like_twilio(simulator: RunningSimulator) -> None:
    sids = [simulator.create(To=PATIENT, From=PRACTICE, Body=f"n{i}").json()["sid"]
            for i in range(5)]
    simulator.create(To="+14155550124", From=PRACTICE, Body="other")
    today = datetime.now(UTC).date().isoformat()
    params = {"To": PATIENT, "From": PRACTICE, "DateSent>=": today, "PageSize": "2"}
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    page = simulator.http.get(simulator.messages_path, params=params, auth=auth).json()
    listed = [m["sid"] for m in page["messages"]]
    while page["next_page_uri"]:
        page = simulator.http.get(page["next_page_uri"], auth=auth).json()
        listed += [m["sid"] for m in page["messages"]]
    assert listed == list(reversed(sids))
    assert page["page"] == 2 and page["previous_page_uri"]
    later = simulator.http.get(simulator.messages_path, auth=auth,
                               params={"To": PATIENT, "DateSent>=": "2999-01-01"}).json()
    assert later["messages"] == []


def test_a_bad_list_filter_is_400(simulator: RunningSimulator) -> None:
    response = simulator.http.get(simulator.messages_path, params={"DateSent>=": "soon"},
                                  auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert response.status_code == 400


def test_concurrent_creates_are_all_logged_once(simulator: RunningSimulator) -> None:
    with ThreadPoolExecutor(16) as pool:
        sids = list(pool.map(lambda i: simulator.create(
            To=PATIENT, From=PRACTICE, Body=f"n{i}").json()["sid"], range(60)))
    log = simulator.http.get("/sim/log").json()
    assert len(set(sids)) == 60 and sorted(e["sid"] for e in log) == sorted(sids)


def test_the_log_has_precise_arrival_times_per_sender(simulator: RunningSimulator) -> None:
    for number in (PRACTICE, "+14155550101", PRACTICE):
        simulator.create(To=PATIENT, From=number, Body="x")
    log = simulator.http.get("/sim/log", params={"from": PRACTICE}).json()
    assert [e["from"] for e in log] == [PRACTICE, PRACTICE]
    assert all(re.search(r"T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$", e["at"]) for e in log)
    assert log[0]["monotonic"] < log[1]["monotonic"]


# -- behaviours -----------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)])
def test_fail_next_refuses_without_taking_the_text(simulator: RunningSimulator, status: int,
                                                   code: int) -> None:
    simulator.configure(fail_next=1, fail_status=status)
    refused = simulator.create(To=PATIENT, From=PRACTICE, Body="x")
    assert (refused.status_code, refused.json()["code"]) == (status, code)
    assert simulator.create(To=PATIENT, From=PRACTICE, Body="x").status_code == 201
    assert len(simulator.http.get("/sim/log").json()) == 1
    assert simulator.http.get("/sim/config").json()["fail_next"] == 0


def test_latency_delays_the_answer_but_the_text_is_taken(simulator: RunningSimulator) -> None:
    simulator.configure(latency_ms=300)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        simulator.http.post(simulator.messages_path, auth=(ACCOUNT_SID, AUTH_TOKEN),
                            data={"To": PATIENT, "From": PRACTICE, "Body": "x"}, timeout=0.1)
    assert len(simulator.http.get("/sim/log").json()) == 1
    assert simulator.create(To=PATIENT, From=PRACTICE, Body="y").status_code == 201
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize("settings", [
    {"unknown": 1}, {"fail_next": -1}, {"fail_next": "2"}, {"duplicate_callbacks": 1},
    {"fail_status": 200}, {"fail_next": 1.5},
])
def test_bad_config_is_refused(simulator: RunningSimulator, settings: dict[str, object]) -> None:
    assert simulator.http.post("/sim/config", json=settings).status_code == 400


def test_reset_forgets_everything(simulator: RunningSimulator) -> None:
    simulator.configure(fail_next=3, filter_links=True)
    simulator.http.post("/sim/landlines", json={"number": PATIENT})
    simulator.configure(fail_next=0)
    simulator.create(To=PATIENT, From=PRACTICE, Body="x")
    assert simulator.http.post("/sim/reset").status_code == 200
    assert simulator.http.get("/sim/log").json() == []
    assert simulator.http.get("/sim/landlines").json() == {}
    assert simulator.http.get("/sim/config").json()["filter_links"] is False


def test_health(simulator: RunningSimulator) -> None:
    health = simulator.http.get("/sim/health").json()
    assert health["status"] == "ok" and health["worker_running"] is True


def test_the_clock_dates_the_texts() -> None:
    clock = FrozenClock(datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC))
    sim = create_simulator(AUTH_TOKEN, ACCOUNT_SID, "http://127.0.0.1:9", clock=clock)
    message = sim.accept({"To": PATIENT, "From": PRACTICE, "Body": "x"})
    assert message.as_resource()["date_created"] == "Wed, 02 Jan 2030 03:04:05 +0000"
    assert message.as_log_entry()["at"] == "2030-01-02T03:04:05.123456+00:00"
    sim.stop()
