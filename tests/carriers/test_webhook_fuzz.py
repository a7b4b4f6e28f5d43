"""Signed webhooks over Twilio's parameter space, valid and not (issue 16): no answer is a
server error, and a refused one stores nothing. CI runs a bounded number of examples;
`TEXTDESK_FUZZ_EXAMPLES=5000` runs the full battery (tests/fuzzing.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import func, select, update

from tests.fuzzing import examples
from tests.helpers import Practice, make_patient, make_practice
from textdesk.carriers.twilio import MESSAGE_STATUSES, SIGNATURE_HEADER, sign
from textdesk.storage.db import Database
from textdesk.storage.models import (
    CallbackReceipt,
    ConsentEvent,
    Conversation,
    Message,
    MessageEvent,
)

NUMBER = "+15005550006"
PATIENT = "+14155550123"
OUTBOUND_SID = "SM" + "0a" * 16  # a text we sent, so status callbacks reach the lifecycle
STORED_TABLES = (Message, MessageEvent, CallbackReceipt, ConsentEvent, Conversation)

hexdigits = st.text("0123456789abcdefABCDEF", min_size=32, max_size=32)
good_sid = st.one_of(st.just(OUTBOUND_SID),
                     st.builds(lambda p, h: p + h, st.sampled_from(["SM", "MM"]), hexdigits),
                     st.sampled_from(["SM" + "e" * 32, "SM" + "d" * 32]))  # repeats: duplicates
# Any text a form can carry (no lone surrogates), with NULs and control characters.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from(["x", "9", "é", "\x00", "😀"]),
                      st.integers(300, 20_000))
bad_value = st.one_of(any_text, huge_text, st.just(""), st.just("\x00"),
                      st.builds(lambda t: t + "\x00", any_text))
bad_sid = st.one_of(bad_value, st.builds(lambda h: "SM" + h + "\n", hexdigits),
                    st.builds(lambda h: "SM" + h + h, hexdigits), st.just("SM" + "a" * 298))
phone = st.one_of(st.sampled_from([NUMBER, PATIENT, "+15005550001", "12345", "+447700900123"]),
                  st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True))
bad_phone = st.one_of(bad_value, st.just("1" * 40), st.just("+1 (415) 555-0123"))
status = st.sampled_from(sorted(MESSAGE_STATUSES) + ["DELIVERED", "Failed"])
error_code = st.one_of(st.integers(0, 99_999).map(str), st.integers(-10**6, 10**25).map(str),
                       st.just("99999999999999999999"), st.just("3000000000"), bad_value)
body = st.one_of(st.sampled_from(["STOP", "stop", "START", "HELP", "YES", "C", "STOP\x00"]),
                 any_text, st.text(max_size=1600), huge_text)
# Names: Twilio's, Twilio-style new ones, and ones carved out of a value.
extra_name = st.one_of(
    st.sampled_from(["FromCity", "ToZip", "NumMedia", "MediaUrl0", "MediaContentType0",
                     "OptOutType", "ProfileName", "WaId", "ButtonText", "ChannelMetadata",
                     "CarrierNetworkCode", "RawDlrDoneDate", "ErrorMessage", "Latitude"]),
    st.from_regex(r"[A-Z][a-z]{1,8}([A-Z][a-z]{1,8}){1,3}", fullmatch=True),
    st.sampled_from(["D", "Dx", "body", "STOP", "Body2", "x" * 65, "a b", "Ü", ""]),
    st.text(min_size=1, max_size=20))


twilio_name = st.one_of(
    st.sampled_from(["FromCity", "ToZip", "NumMedia", "MediaUrl0", "MediaContentType0",
                     "OptOutType", "ProfileName", "WaId", "ButtonText", "ChannelMetadata",
                     "CarrierNetworkCode", "RawDlrDoneDate", "ErrorMessage", "Latitude"]),
    st.from_regex(r"[A-Z][a-z]{1,8}([A-Z][a-z]{1,8}){1,3}", fullmatch=True))


def _maybe(value: st.SearchStrategy[str], bad: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(value, value, value, bad)


def _shaped(fields: dict[str, st.SearchStrategy[str]], names: st.SearchStrategy[str],
            optional: dict[str, st.SearchStrategy[str]] | None = None, *, drop: bool = False
            ) -> st.SearchStrategy[dict[str, str]]:
    extras = st.dictionaries(names, st.one_of(any_text, any_text, huge_text), max_size=3)
    dropped = (st.sets(st.sampled_from(["From", "To", "Body", "MessageStatus", "MessageSid"]),
                       max_size=1) if drop else st.just(set()))
    return st.builds(lambda p, e, d: {k: v for k, v in {**e, **p}.items() if k not in d},
                     st.fixed_dictionaries(fields, optional=optional or {}), extras, dropped)


# Real-looking requests (Twilio's shapes, perhaps with new Twilio-style parameters) ...
inbound = _shaped({
    "MessageSid": good_sid, "SmsSid": good_sid, "AccountSid": st.just("AC" + "0" * 32),
    "From": phone, "To": st.one_of(st.just(NUMBER), st.just(NUMBER), phone),
    "Body": st.one_of(body, st.text(max_size=1600)), "NumMedia": st.just("0")}, twilio_name)
status_callback = _shaped({
    "MessageSid": good_sid, "AccountSid": st.just("AC" + "0" * 32), "MessageStatus": status,
    "From": phone, "To": phone}, twilio_name,
    {"ErrorCode": st.integers(0, 99_999).map(str), "SmsStatus": status})
# ... and ones with any parameter wrong, missing, or named like no Twilio parameter.
bad_inbound = _shaped({
    "MessageSid": _maybe(good_sid, bad_sid), "SmsSid": _maybe(good_sid, bad_sid),
    "AccountSid": st.just("AC" + "0" * 32), "From": _maybe(phone, bad_phone),
    "To": st.one_of(st.just(NUMBER), phone, bad_phone), "Body": body,
    "NumMedia": st.sampled_from(["0", "1", "-1", "x"])}, extra_name, drop=True)
bad_status_callback = _shaped({
    "MessageSid": _maybe(good_sid, bad_sid), "AccountSid": st.just("AC" + "0" * 32),
    "MessageStatus": _maybe(status, bad_value), "From": _maybe(phone, bad_phone),
    "To": _maybe(phone, bad_phone)}, extra_name,
    {"ErrorCode": error_code, "SmsStatus": status}, drop=True)
webhook = st.one_of(
    st.tuples(st.just("/webhooks/twilio/inbound"), st.one_of(inbound, bad_inbound)),
    st.tuples(st.just("/webhooks/twilio/status"), st.one_of(status_callback,
                                                            bad_status_callback)))


@pytest.fixture
def world(client: TestClient, db: Database) -> Practice:
    """A practice with a patient and one text sent to them (its sid is OUTBOUND_SID)."""
    practice = make_practice(client, number=NUMBER)
    patient = make_patient(client, practice)
    sent = client.post("/api/v1/messages", headers=practice.auth,
                       json={"patient_id": patient["id"], "body": "Your crown is ready."})
    assert sent.status_code == 201, sent.text
    with db.transaction() as s:  # as the connector records it once the carrier took it
        s.execute(update(Message).where(Message.id == sent.json()["id"])
                  .values(carrier="twilio", carrier_sid=OUTBOUND_SID, status="sent"))
    return practice


@pytest.fixture
def answers() -> Iterator[Counter[int]]:
    seen: Counter[int] = Counter()
    yield seen
    print(f"\n{sum(seen.values())} signed webhooks: " + ", ".join(
        f"{status} x{count}" for status, count in sorted(seen.items())))


def _stored(db: Database) -> tuple[int, ...]:
    with db.transaction() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0 for t in STORED_TABLES)


@pytest.mark.timeout(max(300, examples(200) // 5))  # the full battery takes minutes
@settings(max_examples=examples(200), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(case=webhook)
def test_no_signed_webhook_is_a_server_error(client: TestClient, db: Database, world: Practice,
                                             answers: Counter[int],
                                             case: tuple[str, dict[str, str]]) -> None:
    path, params = case
    token = client.app.state.textdesk.settings.twilio_auth_token  # type: ignore[attr-defined]
    before = _stored(db)
    r = client.post(path, data=params,
                    headers={SIGNATURE_HEADER: sign(token, "http://testserver" + path, params)})
    answers[r.status_code] += 1
    assert r.status_code < 500, (params, r.text)
    if r.status_code >= 400:
        assert r.status_code in (400, 403), r.text
        assert _stored(db) == before, "a refused webhook stored something"
        if r.status_code == 400:
            assert r.json()["error"] and r.json()["message"]
