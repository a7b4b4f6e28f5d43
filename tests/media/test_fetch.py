"""A patient's picture: noted by the inbound webhook, fetched afterwards with the account's
credentials from the simulator's Twilio-shaped Media URL, checked, kept, or failed visibly."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.carriers.conftest import ACCOUNT_SID, AUTH_TOKEN, Receiver, RunningSimulator
from tests.messaging.conftest import AVA, World
from tests.pages.helpers import SIGNATURE_HEADER, SIMULATOR_AUTH_TOKEN, sign, text_in
from textdesk.carriers.media import MediaFetcher
from textdesk.carriers.simulator.samples import png
from textdesk.carriers.twilio import parse_inbound
from textdesk.kit.clock import FrozenClock
from textdesk.media import service as media
from textdesk.messaging import inbound
from textdesk.storage.blobs import FileBlobStore


@pytest.fixture
def blobs(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "media")


@pytest.fixture
def fetcher(simulator: RunningSimulator) -> MediaFetcher:
    return MediaFetcher(ACCOUNT_SID, AUTH_TOKEN, simulator.url, timeout=5)


def patient_sends(world: World, simulator: RunningSimulator, receiver: Receiver,
                  clock: FrozenClock, media: object, body: str = "my insurance card") -> int:
    """The simulator plays the patient; its signed webhook form is received as textdesk does."""
    r = simulator.http.post("/sim/inbound", json={"from": AVA, "to": world.number,
                                                  "body": body, "media": media})
    assert r.status_code == 200, r.text
    params = receiver.received("inbound")[-1].params
    with world.db.transaction() as session:
        got = inbound.receive(session, parse_inbound(params), clock.now())
        assert got.message is not None and got.is_new
        return got.message.id


def views(world: World, message_id: int) -> list[dict]:
    with world.db.transaction() as session:
        return media.views_of(session, [message_id]).get(message_id, [])


def test_a_picture_is_fetched_with_the_accounts_credentials_and_kept(
        world: World, simulator: RunningSimulator, receiver: Receiver, clock: FrozenClock,
        fetcher: MediaFetcher, blobs: FileBlobStore) -> None:
    message_id = patient_sends(world, simulator, receiver, clock, 2)
    assert [v["status"] for v in views(world, message_id)] == ["pending", "pending"]
    assert media.fetch_due(world.db, fetcher, blobs, clock.now()) == 2
    got = views(world, message_id)
    assert [(v["status"], v["content_type"], v["size"]) for v in got] == [
        ("stored", "image/png", len(png()))] * 2
    with world.db.transaction() as session:
        item, data = media.read(session, blobs, world.practice_id, got[0]["id"])
    assert data == png()
    assert media.fetch_due(world.db, fetcher, blobs, clock.now()) == 0  # nothing left to do


@pytest.mark.parametrize(("file", "error"), [
    ({"content_type": "image/png", "file": "html"}, "media_type_not_allowed"),
    ({"content_type": "image/png", "size": 70_000}, "media_too_large"),
])
def test_a_file_refused_by_its_checks_is_failed_and_says_so(
        world: World, simulator: RunningSimulator, receiver: Receiver, clock: FrozenClock,
        fetcher: MediaFetcher, blobs: FileBlobStore, file: dict, error: str) -> None:
    message_id = patient_sends(world, simulator, receiver, clock, [file])
    media.fetch_due(world.db, fetcher, blobs, clock.now(), media.FetchPolicy(max_bytes=65_536))
    (view,) = views(world, message_id)
    assert (view["status"], view["error"], view["url"]) == ("failed", error, None)
    assert view["problem"].startswith("The picture could not be fetched")
    assert not any(blobs.root.rglob("*.*")) if blobs.root.exists() else True


def test_a_declared_type_the_bytes_contradict_is_kept_as_what_the_bytes_are(
        world: World, simulator: RunningSimulator, receiver: Receiver, clock: FrozenClock,
        fetcher: MediaFetcher, blobs: FileBlobStore) -> None:
    message_id = patient_sends(world, simulator, receiver, clock,
                               [{"content_type": "image/jpeg", "file": "png"}])
    media.fetch_due(world.db, fetcher, blobs, clock.now())
    assert [(v["status"], v["content_type"]) for v in views(world, message_id)] == [
        ("stored", "image/png")]


def test_wrong_credentials_fail_the_picture_at_once(
        world: World, simulator: RunningSimulator, receiver: Receiver, clock: FrozenClock,
        blobs: FileBlobStore) -> None:
    message_id = patient_sends(world, simulator, receiver, clock, 1)
    wrong = MediaFetcher(ACCOUNT_SID, "not-the-token", simulator.url, timeout=5)
    media.fetch_due(world.db, wrong, blobs, clock.now())
    assert [(v["status"], v["error"]) for v in views(world, message_id)] == [
        ("failed", "media_fetch_failed")]


def test_an_unreachable_carrier_is_retried_with_backoff_then_failed(
        world: World, simulator: RunningSimulator, receiver: Receiver, clock: FrozenClock,
        blobs: FileBlobStore) -> None:
    message_id = patient_sends(world, simulator, receiver, clock, 1)
    with world.db.transaction() as session:
        (item,) = media.of_messages(session, [message_id])[message_id]
        item.source_url = "http://127.0.0.1:9/unreachable"  # nothing listens on port 9
    down = MediaFetcher(ACCOUNT_SID, AUTH_TOKEN, "http://127.0.0.1:9", timeout=2)
    policy = media.FetchPolicy(max_attempts=3)
    assert media.fetch_due(world.db, down, blobs, clock.now(), policy) == 1
    assert views(world, message_id)[0]["status"] == "pending"
    assert media.fetch_due(world.db, down, blobs, clock.now(), policy) == 0  # backing off
    for _ in range(2):
        clock.advance(minutes=5)
        assert media.fetch_due(world.db, down, blobs, clock.now(), policy) == 1
    assert [(v["status"], v["error"]) for v in views(world, message_id)] == [
        ("failed", "media_fetch_failed")]


def test_the_webhook_only_notes_the_picture(client: TestClient, world: World,
                                            simulator: RunningSimulator) -> None:
    """Nothing is fetched while Twilio waits: the webhook answers with the file pending."""
    text_in(client, world.number, AVA, "")  # a plain text first: the thread exists
    params_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    sid = "MM" + "e" * 32
    params = {"MessageSid": sid, "From": AVA, "To": world.number, "Body": "",
              "NumMedia": "1", "MediaUrl0": params_url, "MediaContentType0": "image/jpeg"}
    signature = sign(SIMULATOR_AUTH_TOKEN, "http://testserver/webhooks/twilio/inbound", params)
    r = client.post("/webhooks/twilio/inbound", data=params,
                    headers={SIGNATURE_HEADER: signature})
    assert r.status_code == 200
    with world.db.transaction() as session:
        found = [m for items in media.of_messages(session, range(1, 1000)).values()
                 for m in items]
    assert [(m.status, m.source_url, m.content_type) for m in found] == [
        ("pending", params_url, "image/jpeg")]
    assert simulator.http.get("/sim/log").json() == []
