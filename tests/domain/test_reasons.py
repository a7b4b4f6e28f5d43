import pytest

from textdesk.domain.reasons import CATALOGUE, FailureCause, cause_for_error, describe_failure

BLOCKERS = ["sms_not_enabled", "messaging_not_approved", "no_sending_number", "no_wireless_phone",
            "phone_unparseable", "phone_invalid", "phone_landline", "country_not_eligible",
            "not_opted_in", "no_marketing_consent", "opted_out", "lead_inactive_stage",
            "spending_limit_reached", "url_in_manual_text", "body_empty", "body_too_long"]
HOLDS = ["connector_down", "number_pending_verification", "quiet_hours", "rate_limited"]
WARNINGS = ["link_shortener", "multi_segment", "unicode_characters"]


@pytest.mark.parametrize("code", BLOCKERS + HOLDS + WARNINGS)
def test_every_documented_code_has_a_sentence_and_a_fix(code: str) -> None:
    spec = CATALOGUE[code]
    assert spec.message.endswith(".") and len(spec.message) > 15
    assert spec.fix and spec.fix != spec.message


@pytest.mark.parametrize(("error_code", "cause"), [
    (21211, "recipient_invalid"), (30005, "recipient_invalid"),
    (21614, "recipient_landline"), (30006, "recipient_landline"),
    (21612, "recipient_unreachable"), (30003, "recipient_unreachable"),
    (21408, "country_not_permitted"), (21610, "recipient_opted_out"),
    (30004, "recipient_opted_out"), (30007, "carrier_filtered"), (30034, "sender_unregistered"),
    (20429, "rate_limited"), (30001, "rate_limited"), (63018, "rate_limited"),
    (30008, "unknown"), (None, "unknown"), (99999, "unknown"),
])
def test_carrier_codes_map_to_documented_causes(error_code: int | None, cause: str) -> None:
    assert cause_for_error(error_code).value == cause


@pytest.mark.parametrize("cause", list(FailureCause))
def test_every_cause_reads_for_staff(cause: FailureCause) -> None:
    sentence, fix = describe_failure(cause)
    assert sentence.endswith(".") and fix.endswith(".")
