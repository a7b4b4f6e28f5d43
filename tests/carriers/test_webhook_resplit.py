"""Twilio's signature joins sorted names and values with no separator, so a signed inbound
`Body=STOPDx` verifies again as `Body=STOP` + `D=x` (issue 16). A stored MessageSid makes any
later request carrying it a duplicate; a name none of Twilio's is refused (decision 0141)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.consent.support import WEBHOOK, consent_events, inbound_params
from tests.helpers import make_patient, make_practice
from textdesk.carriers.twilio import (
    SIGNATURE_HEADER,
    is_twilio_parameter_name,
    is_valid_signature,
    sign,
)
from textdesk.storage.db import Database
from textdesk.storage.models import ConsentEvent, Message

PATIENT = "+14155550123"
URL = "http://testserver" + WEBHOOK


def _token(client: TestClient) -> str:
    return str(client.app.state.textdesk.settings.twilio_auth_token)  # type: ignore[attr-defined]


def _resplit(params: dict[str, str]) -> dict[str, str]:
    """`Body=STOPDx` as `Body=STOP` + `D=x`: the same string under the signature."""
    assert params["Body"] == "STOPDx"
    return {**params, "Body": "STOP", "D": "x"}


def _counts(db: Database) -> tuple[int, int]:
    with db.transaction() as s:
        return (s.scalar(select(func.count()).select_from(Message)) or 0,
                s.scalar(select(func.count()).select_from(ConsentEvent)) or 0)


def test_the_resplit_really_carries_the_original_signature(client: TestClient) -> None:
    params = inbound_params("+15005550006", PATIENT, "STOPDx")
    signature = sign(_token(client), URL, params)
    assert is_valid_signature(_token(client), URL, _resplit(params), signature)


def test_a_resplit_replay_of_a_stored_text_is_a_duplicate(client: TestClient,
                                                         db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    params = inbound_params(practice.number, PATIENT, "STOPDx")
    signature = {SIGNATURE_HEADER: sign(_token(client), URL, params)}
    assert client.post(WEBHOOK, data=params, headers=signature).status_code == 200
    before = _counts(db)
    stops_before = [e.id for e in consent_events(db, practice.id, PATIENT)]

    replay = client.post(WEBHOOK, data=_resplit(params), headers=signature)

    assert replay.status_code == 200  # answered as a duplicate: the carrier stops retrying
    assert _counts(db) == before
    assert [e.id for e in consent_events(db, practice.id, PATIENT)] == stops_before  # no STOP
    with db.transaction() as s:
        assert s.scalars(select(Message.body).where(Message.direction == "inbound")).all() == [
            "STOPDx"]


def test_a_stored_sid_is_a_duplicate_whatever_its_other_parameters(client: TestClient,
                                                                   db: Database) -> None:
    practice = make_practice(client)
    params = inbound_params(practice.number, PATIENT, "Hello")
    signed = {SIGNATURE_HEADER: sign(_token(client), URL, params)}
    assert client.post(WEBHOOK, data=params, headers=signed).status_code == 200
    before = _counts(db)
    for other in ({"Body": "STOP"}, {"Body": "x" * 5000}, {"Zz": "1"},
                  {"From": "+14155550999"}, {"To": "1" * 40}):
        again = {**params, **other}
        r = client.post(WEBHOOK, data=again,
                        headers={SIGNATURE_HEADER: sign(_token(client), URL, again)})
        assert r.status_code == 200, (other, r.text)
    assert _counts(db) == before


def test_a_resplit_that_arrives_first_is_refused_and_stores_nothing(client: TestClient,
                                                                    db: Database) -> None:
    practice = make_practice(client)
    make_patient(client, practice)
    before = _counts(db)
    params = inbound_params(practice.number, PATIENT, "STOPDx")
    signature = {SIGNATURE_HEADER: sign(_token(client), URL, params)}

    r = client.post(WEBHOOK, data=_resplit(params), headers=signature)

    assert r.status_code == 400 and r.json()["error"] == "unknown_webhook_parameter"
    assert "D" not in r.json()["message"].split()  # the name may be a piece of a text
    assert _counts(db) == before
    # The genuine request is still taken afterwards.
    assert client.post(WEBHOOK, data=params, headers=signature).status_code == 200
    assert _counts(db)[0] == before[0] + 1


def test_a_new_twilio_style_parameter_still_works(client: TestClient, db: Database) -> None:
    practice = make_practice(client)
    params = {**inbound_params(practice.number, PATIENT, "Running late"),
              "SmsMessageSid": "SM" + "e" * 32, "MessagingServiceSid": "MG" + "1" * 32,
              "NumSegments": "1", "FromCountry": "US", "ToZip": "", "MediaUrl0": "",
              "CarrierNetworkCode": "310", "ChannelMetadata": "{}", "ReferralNumMedia": "0"}
    r = client.post(WEBHOOK, data=params,
                    headers={SIGNATURE_HEADER: sign(_token(client), URL, params)})
    assert r.status_code == 200, r.text
    assert _counts(db)[0] == 1


@pytest.mark.parametrize("name", [
    "MessageSid", "Body", "From", "WaId", "RawDlrDoneDate", "MediaUrl0", "MediaContentType9",
    "MediaUrl10", "CarrierNetworkCode", "ChannelToAddress", "Latitude", "Label"])
def test_twilio_names_and_patterns_are_accepted(name: str) -> None:
    assert is_twilio_parameter_name(name)


@pytest.mark.parametrize("name", [
    "D", "Dx", "Stop", "STOP", "body", "Body2", "MediaUrl100", "Mediaurl0",
    "MEDIAURL0", "Media_Url", "Carrier-Code", "ÜberName", "A" + "b" * 63 + "Cd", ""])
def test_other_names_are_refused(name: str) -> None:
    assert not is_twilio_parameter_name(name)


def test_an_unknown_name_on_a_status_callback_is_refused(client: TestClient) -> None:
    params = {"MessageSid": "SM" + "f" * 32, "MessageStatus": "delivered", "Dx": "1"}
    r = client.post("/webhooks/twilio/status", data=params, headers={
        SIGNATURE_HEADER: sign(_token(client), "http://testserver/webhooks/twilio/status",
                               params)})
    assert r.status_code == 400 and r.json()["error"] == "unknown_webhook_parameter"
