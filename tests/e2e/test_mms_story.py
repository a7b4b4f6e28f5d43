"""Pictures over real HTTP: a patient's MMS through the simulator's signed webhook, fetched by
the connector with the account's credentials; a staff reply with a picture reaching the
simulator with its MediaUrl, a signed link the simulator fetches from textdesk."""

from __future__ import annotations

from tests.e2e.conftest import LiveServer
from textdesk.carriers.simulator.samples import png


def test_a_patients_picture_is_fetched_by_the_connector_and_shown_on_the_text(
        live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice)
    r = live_server.sim("POST", "/sim/inbound", json={
        "from": "+14155550123", "to": practice.number, "body": "my insurance card",
        "media": [{"content_type": "image/png"}, {"content_type": "image/png", "file": "html"}]})
    assert r.status_code == 200 and r.json()["status_code"] == 200, r.text

    def fetched() -> list[dict] | None:
        (text,) = live_server.http.get(f"/api/v1/patients/{patient['id']}/messages",
                                       headers=practice.auth).json()
        done = all(f["status"] != "pending" for f in text["media"])
        return text["media"] if done else None

    picture, page = live_server.wait_for(fetched, 15, "the connector to fetch the files")
    assert (picture["status"], picture["content_type"], picture["size"]) == (
        "stored", "image/png", len(png()))
    content = live_server.http.get(picture["url"], headers=practice.auth)
    assert (content.status_code, content.content) == (200, png())
    assert (page["status"], page["error"]) == ("failed", "media_type_not_allowed")
    assert page["problem"].startswith("The picture could not be fetched")


def test_a_staff_reply_with_a_picture_reaches_the_simulator_which_fetches_its_media_url(
        live_server: LiveServer) -> None:
    practice = live_server.practice()
    patient = live_server.patient(practice)
    live_server.sim("POST", "/sim/config", json={"fetch_media": True})
    upload = live_server.http.post("/api/v1/media", headers=practice.auth,
                                   files={"file": ("xray.png", png(), "image/png")})
    assert upload.status_code == 201, upload.text
    r = live_server.http.post("/api/v1/messages", headers=practice.auth, json={
        "patient_id": patient["id"], "body": "Your X-ray", "media": [upload.json()["id"]]})
    assert r.status_code == 201, r.text
    done = live_server.wait_status(practice, r.json()["id"], "delivered", timeout=15)
    assert done["carrier_sid"].startswith("MM") and done["segments"] == 1
    (sent,) = live_server.sim("GET", "/sim/log").json()
    (url,) = sent["media_urls"]
    assert url.startswith(live_server.base_url + "/m/")
    (fetch,) = sent["media_fetches"]
    assert (fetch["url"], fetch["status_code"], fetch["content_type"], fetch["size"]) == (
        url, 200, "image/png", len(png()))
    assert sent["body"] == "Your X-ray" and sent["num_segments"] == 1
