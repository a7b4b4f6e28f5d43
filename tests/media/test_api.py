"""Media through the API and the pages: uploads checked by their bytes and capped, texts that
carry them, each practice seeing only its own files, and the carrier's signed, expiring link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.helpers import Practice, make_patient, make_practice
from tests.pages.helpers import desk
from textdesk.carriers.simulator.samples import PDF, png
from textdesk.config import Settings
from textdesk.kit.clock import FrozenClock
from textdesk.media import links
from textdesk.storage.db import Database

PNG = png()


def upload(client: TestClient, practice: Practice, data: bytes = PNG,
           content_type: str = "image/png", name: str = "card.png") -> dict:
    r = client.post("/api/v1/media", files={"file": (name, data, content_type)},
                    headers=practice.auth)
    return {"status_code": r.status_code, **r.json()}


def test_an_upload_answers_its_id_url_type_and_size(client: TestClient) -> None:
    practice = make_practice(client)
    got = upload(client, practice)
    assert got["status_code"] == 201
    assert (got["content_type"], got["size"], got["status"]) == ("image/png", len(PNG), "stored")
    assert got["url"] == f"/api/v1/media/{got['id']}/content"
    content = client.get(got["url"], headers=practice.auth)
    assert (content.status_code, content.content) == (200, PNG)
    assert content.headers["content-type"] == "image/png"
    assert content.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in content.headers["content-security-policy"]


def test_a_pdf_and_an_undeclared_png_are_taken_by_their_bytes(client: TestClient) -> None:
    practice = make_practice(client)
    assert upload(client, practice, PDF, "application/pdf", "x.pdf")["content_type"] == (
        "application/pdf")
    assert upload(client, practice, PNG, "application/octet-stream", "x")["content_type"] == (
        "image/png")


@pytest.mark.parametrize(("data", "content_type", "code"), [
    (b"<html><script>alert(1)</script></html>", "image/png", "media_type_not_allowed"),
    (PNG, "image/gif", "media_type_mismatch"),
    (PDF, "image/jpeg", "media_type_mismatch"),
    (b"", "image/png", "media_empty"),
])
def test_a_file_that_is_not_a_picture_or_pdf_is_refused_by_its_bytes(
        client: TestClient, db: Database, data: bytes, content_type: str, code: str) -> None:
    practice = make_practice(client)
    got = upload(client, practice, data, content_type)
    assert (got["status_code"], got["error"]) == (422, code)


def test_a_file_past_the_cap_is_refused(client: TestClient, settings: Settings) -> None:
    practice = make_practice(client)
    big = PNG + b"\x00" * (settings.media_max_bytes + 1 - len(PNG))
    got = upload(client, practice, big)
    assert (got["status_code"], got["error"]) == (422, "media_too_large")
    huge = PNG + b"\x00" * (settings.media_max_bytes + 200_000)  # past the request's own cap
    got = upload(client, practice, huge)
    assert (got["status_code"], got["error"]) == (413, "payload_too_large")


def test_other_bodies_keep_the_ordinary_cap(client: TestClient, settings: Settings) -> None:
    practice = make_practice(client)
    r = client.post("/api/v1/messages", content=b"{" + b" " * (settings.max_body_bytes + 10),
                    headers={**practice.auth, "content-type": "application/json"})
    assert r.status_code == 413


def test_a_text_with_a_picture_is_one_mms_and_its_view_carries_the_file(
        client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    media = upload(client, practice)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "",
                                              "media": [media["id"]]}, headers=practice.auth)
    assert r.status_code == 201, r.text
    assert (r.json()["segments"], r.json()["cost_usd"], r.json()["num_media"]) == (1, 0.02, 1)
    view = client.get(f"/api/v1/messages/{r.json()['id']}", headers=practice.auth).json()
    assert view["media"] == [{"id": media["id"], "url": media["url"],
                              "content_type": "image/png", "size": len(PNG),
                              "status": "stored", "error": None, "problem": None}]
    listed = client.get(f"/api/v1/patients/{patient['id']}/messages",
                        headers=practice.auth).json()
    assert listed[-1]["media"][0]["id"] == media["id"]


def test_a_text_without_media_has_an_empty_list(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "Hi"},
                    headers=practice.auth)
    view = client.get(f"/api/v1/messages/{r.json()['id']}", headers=practice.auth).json()
    assert view["media"] == []


def test_another_practices_file_is_404_and_cannot_be_attached(client: TestClient) -> None:
    mine = make_practice(client, name="Mine", number="+15005550006")
    theirs = make_practice(client, name="Theirs", number="+15005550010")
    patient = make_patient(client, mine)
    their_file = upload(client, theirs)
    assert client.get(f"/api/v1/media/{their_file['id']}", headers=mine.auth).status_code == 404
    assert client.get(their_file["url"], headers=mine.auth).status_code == 404
    assert client.get(their_file["url"]).status_code == 401
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "x",
                                              "media": [their_file["id"]]}, headers=mine.auth)
    assert (r.status_code, r.json()["error"], r.json()["field"]) == (422, "unknown_media",
                                                                     "media")
    assert client.get(f"/api/v1/patients/{patient['id']}/messages",
                      headers=mine.auth).json() == []  # nothing was written


@pytest.mark.parametrize(("media", "code"), [
    ([999_999], "unknown_media"), ([0], "invalid_request"), (["x"], "invalid_request"),
])
def test_bad_media_ids_are_422_with_a_stable_code(client: TestClient, media: list,
                                                  code: str) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "x",
                                              "media": media}, headers=practice.auth)
    assert r.status_code == 422 and r.json()["error"] == code, r.text


def test_a_file_goes_with_one_text_only(client: TestClient) -> None:
    practice = make_practice(client)
    patient = make_patient(client, practice)
    media = upload(client, practice)
    first = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "a",
                                                  "media": [media["id"]]}, headers=practice.auth)
    assert first.status_code == 201
    again = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "b",
                                                  "media": [media["id"]]}, headers=practice.auth)
    assert (again.status_code, again.json()["error"]) == (422, "media_already_sent")
    twice = upload(client, practice)
    r = client.post("/api/v1/messages", json={"patient_id": patient["id"], "body": "c",
                                              "media": [twice["id"], twice["id"]]},
                    headers=practice.auth)
    assert (r.status_code, r.json()["error"]) == (422, "duplicate_media")


def test_the_signed_link_serves_the_file_until_it_expires(client: TestClient,
                                                         settings: Settings,
                                                         clock: FrozenClock) -> None:
    practice = make_practice(client)
    media = upload(client, practice)
    url = links.signed_url(settings, media["id"], clock.now())
    assert url.startswith("http://testserver/m/")
    path = url.removeprefix("http://testserver")
    served = client.get(path)  # no credentials: the signature is the credential
    assert (served.status_code, served.content) == (200, PNG)
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404
    other_id = path.replace(f"/m/{media['id']}.", f"/m/{media['id'] + 1}.")
    assert client.get(other_id).status_code == 404
    clock.advance(seconds=settings.media_link_seconds - 1)
    assert client.get(path).status_code == 200
    clock.advance(seconds=1)
    assert client.get(path).status_code == 404


def test_a_link_signed_with_another_secret_is_refused(client: TestClient, settings: Settings,
                                                      clock: FrozenClock) -> None:
    practice = make_practice(client)
    media = upload(client, practice)
    forged = links.signed_path("not-the-secret", media["id"], clock.now() + timedelta(hours=1))
    assert client.get(forged).status_code == 404


def test_staff_see_only_their_own_practices_files(client: TestClient, db: Database,
                                                  clock: FrozenClock) -> None:
    mine = desk(client, db, clock, name="Mine", number="+15005550006", email="a@example.com")
    other = TestClient(client.app)
    theirs = desk(other, db, clock, name="Theirs", number="+15005550010", email="b@example.com")
    my_file = upload(client, mine.practice)
    their_file = upload(client, theirs.practice)
    page = client.get(f"/media/{my_file['id']}")
    assert (page.status_code, page.content) == (200, PNG)
    assert client.get(f"/media/{their_file['id']}").status_code == 404
    assert other.get(f"/media/{my_file['id']}").status_code == 404
    anonymous = TestClient(client.app)
    assert anonymous.get(f"/media/{my_file['id']}", follow_redirects=False).status_code in (
        303, 401)
