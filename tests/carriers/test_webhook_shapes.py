"""Signed webhooks whose parameters are not Twilio's documented shapes get a 400 with a stable
code and change nothing (issue-16 reproductions); the connection stays usable."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import make_practice
from textdesk.carriers.twilio import SIGNATURE_HEADER, sign
from textdesk.storage.models import Message

SID = "SM" + "f" * 32


def _post(client: TestClient, path: str, params: dict[str, str]) -> tuple[int, dict[str, str]]:
    settings = client.app.state.textdesk.settings  # type: ignore[attr-defined]
    url = settings.public_url.rstrip("/") + path
    r = client.post(path, data=params,
                    headers={SIGNATURE_HEADER: sign(settings.twilio_auth_token, url, params)})
    return r.status_code, (r.json() if r.headers.get("content-type", "").startswith(
        "application/json") else {})


@pytest.mark.parametrize(("params", "code"), [
    ({"MessageSid": SID, "MessageStatus": "delivered", "ErrorCode": "99999999999999999999"},
     "invalid_error_code"),
    ({"MessageSid": SID, "MessageStatus": "delivered", "ErrorCode": "3000000000"},
     "invalid_error_code"),
    ({"MessageSid": SID, "MessageStatus": "deliv\x00ered"}, "invalid_webhook_parameter"),
    ({"MessageSid": SID + "\x00", "MessageStatus": "delivered"}, "invalid_webhook_parameter"),
    ({"MessageSid": "SM" + "a" * 298, "MessageStatus": "delivered"}, "invalid_message_sid"),
    ({"MessageSid": SID, "MessageStatus": "x" * 5000}, "invalid_message_status"),
])
def test_a_bad_status_callback_is_a_400(client: TestClient, params: dict[str, str],
                                        code: str) -> None:
    status, body = _post(client, "/webhooks/twilio/status", params)
    assert (status, body.get("error")) == (400, code)


@pytest.mark.parametrize(("params", "code"), [
    ({"MessageSid": SID, "From": "+14155550123", "To": "+15005550006", "Body": "STOP\x00"},
     "invalid_webhook_parameter"),
    ({"MessageSid": SID, "From": "1" * 40, "To": "+15005550006", "Body": "hi"},
     "invalid_address"),
    ({"MessageSid": "not-a-sid", "From": "+14155550123", "To": "+15005550006", "Body": "hi"},
     "invalid_message_sid"),
])
def test_a_bad_inbound_text_is_a_400_and_stores_nothing(client: TestClient,
                                                        params: dict[str, str],
                                                        code: str) -> None:
    make_practice(client)
    status, body = _post(client, "/webhooks/twilio/inbound", params)
    assert (status, body.get("error")) == (400, code)
    with client.app.state.textdesk.db.transaction() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    # The next, well-formed callback on the same client is answered.
    ok, _ = _post(client, "/webhooks/twilio/status", {"MessageSid": SID,
                                                      "MessageStatus": "delivered"})
    assert ok == 204
