"""The rule engine: one row per reason code of domain.md, each with its code, sentence and fix."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from textdesk.domain.consent import NO_CONSENT, ConsentState, ConsentStatus
from textdesk.domain.eligibility import NumberFacts, SendContext, Verdict, evaluate
from textdesk.domain.messages import MessageKind
from textdesk.domain.reasons import CATALOGUE, Severity, reason

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
OPTED_IN = ConsentStatus(ConsentState.OPTED_IN, False, NOW, "verbal")
READY = SendContext(
    now=NOW, sms_enabled=True, number=NumberFacts("local", "active", "approved"),
    phone_raw="(415) 555-0123", consent=OPTED_IN, body="See you Tuesday at 3pm.",
)


def ctx(**changes: Any) -> SendContext:
    return replace(READY, **changes)


@dataclass(frozen=True)
class Row:
    code: str
    severity: Severity
    context: SendContext
    message: str  # the exact sentence staff read
    also: tuple[str, ...] = ()  # other codes the same context rightly raises


ROWS = [
    # --- blockers ---------------------------------------------------------------------------
    Row("sms_not_enabled", Severity.BLOCKER, ctx(sms_enabled=False),
        "Texting is not enabled for this practice."),
    Row("messaging_not_approved", Severity.BLOCKER,
        ctx(number=NumberFacts("local", "active", "pending")),
        "The clinic's sending number has no approved messaging registration "
        "(registration is pending)."),
    Row("no_sending_number", Severity.BLOCKER, ctx(number=None),
        "The clinic has no sending number."),
    Row("no_wireless_phone", Severity.BLOCKER, ctx(phone_raw=None),
        "There is no wireless phone on file."),
    Row("phone_unparseable", Severity.BLOCKER, ctx(phone_raw="call me"),
        '"ca…me" has no digits, so it is not a phone number.'),
    Row("phone_invalid", Severity.BLOCKER, ctx(phone_raw="(555) 123-4567"),
        "Area code 555 is not in service."),
    Row("phone_landline", Severity.BLOCKER,
        ctx(phone_raw="+44 20 7946 0018", allowed_countries=("US", "GB")),
        "The numbering plan of the United Kingdom lists this number as a landline, which "
        "cannot receive texts."),
    Row("country_not_eligible", Severity.BLOCKER, ctx(phone_raw="+52 55 1234 5678"),
        "The number is in Mexico (MX), which is not among the practice's allowed countries "
        "(US, CA, PR)."),
    Row("not_opted_in", Severity.BLOCKER, ctx(consent=NO_CONSENT),
        "There is no opt-in on record."),
    Row("no_marketing_consent", Severity.BLOCKER, ctx(kind=MessageKind.CAMPAIGN),
        "The patient agreed to texts about their care, but not to marketing texts."),
    Row("opted_out", Severity.BLOCKER,
        ctx(consent=ConsentStatus(ConsentState.OPTED_OUT, False,
                                  datetime(2026, 3, 1, 12, 5, tzinfo=UTC), "keyword")),
        "The patient opted out of texts from this practice (keyword, 2026-03-01 12:05 UTC)."),
    Row("lead_inactive_stage", Severity.BLOCKER, ctx(lead_stage="closed_won"),
        "The lead is closed won, so the lead thread is closed."),
    Row("spending_limit_reached", Severity.BLOCKER,
        ctx(month_spend_usd=Decimal("25.0040"), monthly_limit_usd=Decimal("25")),
        "The clinic has spent $25.00 of its $25.00 monthly limit; manual texts are paused."),
    Row("url_in_manual_text", Severity.BLOCKER,
        ctx(body="Pay here: https://pay.example.com/x", url_policy="block"),
        "The text holds a link and the practice does not allow links in manual texts."),
    Row("body_empty", Severity.BLOCKER, ctx(body="  \n "), "The text is empty."),
    Row("body_too_long", Severity.BLOCKER, ctx(body="a" * 1601),
        "The text is 1,601 characters; the limit is 1,600.", also=("multi_segment",)),
    # --- holds ------------------------------------------------------------------------------
    Row("connector_down", Severity.HOLD, ctx(connector_alive=False),
        CATALOGUE["connector_down"].message),
    Row("number_pending_verification", Severity.HOLD,
        ctx(number=NumberFacts("hosted_landline", "pending_verification", "approved")),
        "The clinic's hosted landline is waiting for verification; the text goes out once "
        "it is verified."),
    # Quiet hours and pacing are computed by the schedulers and handed in as extra holds.
    Row("quiet_hours", Severity.HOLD, ctx(extra_holds=(reason("quiet_hours"),)),
        CATALOGUE["quiet_hours"].message),
    Row("rate_limited", Severity.HOLD, ctx(extra_holds=(reason("rate_limited"),)),
        CATALOGUE["rate_limited"].message),
    # --- warnings ---------------------------------------------------------------------------
    Row("url_in_manual_text", Severity.WARNING,
        ctx(body="Forms: https://forms.example.org/new", url_policy="warn"),
        "The text holds a link; carriers often filter manual texts with links."),
    Row("link_shortener", Severity.WARNING,
        ctx(body="Book: bit.ly/3xYz", url_policy="allow"),
        "The text uses a public link shortener (bit.ly), which carriers often block."),
    Row("multi_segment", Severity.WARNING, ctx(body="a" * 161),
        "The text is sent as 2 segments (GSM-7) and costs $0.0158 instead of $0.0079."),
    Row("phone_voip", Severity.WARNING, ctx(line_type="nonFixedVoip"),
        "The carrier's lookup says the number is a VoIP line, which often cannot receive "
        "texts."),
    Row("unicode_characters", Severity.WARNING, ctx(body="See you soon 😀"),
        "The text has characters outside GSM-7 (😀), so it is sent as UCS-2 with 70 characters "
        "per segment instead of 160."),
]


def _bucket(verdict: Verdict, severity: Severity) -> list[Any]:
    return {Severity.BLOCKER: verdict.blockers, Severity.HOLD: verdict.holds,
            Severity.WARNING: verdict.warnings}[severity]


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.severity}-{r.code}" for r in ROWS])
def test_each_reason_has_its_code_sentence_and_fix(row: Row) -> None:
    verdict = evaluate(row.context)
    found = _bucket(verdict, row.severity)
    assert [r.code for r in found] == [row.code], verdict.codes
    assert found[0].message == row.message
    assert found[0].fix == CATALOGUE[row.code].fix
    assert verdict.codes == [row.code, *row.also]
    assert verdict.can_text is (row.severity is not Severity.BLOCKER)


def test_the_ready_context_has_nothing_to_say() -> None:
    verdict = evaluate(READY)
    assert verdict.can_text and verdict.codes == []


def _documented_codes() -> dict[str, set[str]] | None:
    """Codes of domain.md's tables, when the shared docs sit beside the repository."""
    for parent in Path(__file__).resolve().parents:
        doc = parent / "shared" / "docs" / "domain.md"
        if doc.exists():
            text = doc.read_text()
            section = text.split("Blockers:", 1)[1].split("Delivery failure causes", 1)[0]
            blockers_part, rest = section.split("Holds:", 1)
            holds_part, warnings_part = re.sub(r"\([^)]*\)", "", rest).split("Warnings:", 1)
            code = re.compile(r"`([a-z_]+)`")
            blockers = {m for line in blockers_part.splitlines() if line.startswith("| `")
                        for m in code.findall(line.split("|")[1])}
            return {"blocker": blockers, "hold": set(code.findall(holds_part)),
                    "warning": set(code.findall(warnings_part))}
    return None


def test_every_code_of_the_domain_tables_has_a_row() -> None:
    documented = _documented_codes()
    if documented is None:
        pytest.skip("shared/docs/domain.md is not beside the repository")
    covered = {(r.severity.value, r.code) for r in ROWS}
    for severity, codes in documented.items():
        assert codes, severity
        missing = {c for c in codes if (severity, c) not in covered}
        assert not missing, f"{severity}s without a row: {missing}"


def test_several_blockers_are_reported_together() -> None:
    verdict = evaluate(ctx(sms_enabled=False, number=NumberFacts("local", "active", "rejected"),
                           phone_raw="+1 555 123 4567", consent=NO_CONSENT, body="",
                           connector_alive=False))
    assert [r.code for r in verdict.blockers] == [
        "sms_not_enabled", "messaging_not_approved", "phone_invalid", "not_opted_in",
        "body_empty"]
    assert [r.code for r in verdict.holds] == ["connector_down"]
    assert not verdict.can_text


def test_a_foreign_landline_is_both_a_landline_and_out_of_country() -> None:
    verdict = evaluate(ctx(phone_raw="+33 1 23 45 67 89"))
    assert [r.code for r in verdict.blockers] == ["phone_landline", "country_not_eligible"]


@pytest.mark.parametrize(("finding", "code", "message"), [
    ("landline", "phone_landline",
     "The carrier reported this number as a landline, which cannot receive texts."),
    ("invalid", "phone_invalid",
     "The carrier reported this number as invalid or no longer in service."),
])
def test_what_the_carrier_taught_blocks(finding: str, code: str, message: str) -> None:
    verdict = evaluate(ctx(phone_finding=finding))
    assert [(r.code, r.message) for r in verdict.blockers] == [(code, message)]


@pytest.mark.parametrize(("kind", "blocked"), [
    (MessageKind.MANUAL, True), (MessageKind.TEST, True),
    (MessageKind.AUTOMATED, False), (MessageKind.CAMPAIGN, False), (MessageKind.SYSTEM, False),
])
def test_spending_limit_stops_manual_texts_only(kind: MessageKind, blocked: bool) -> None:
    over = ctx(kind=kind, month_spend_usd=Decimal("50"), monthly_limit_usd=Decimal("50"),
               consent=ConsentStatus(ConsentState.OPTED_IN, True, NOW, "verbal"))
    assert ("spending_limit_reached" in evaluate(over).codes) is blocked
    under = replace(over, month_spend_usd=Decimal("49.9999"))
    assert "spending_limit_reached" not in evaluate(under).codes


def test_no_limit_means_no_spending_blocker() -> None:
    assert evaluate(ctx(month_spend_usd=Decimal("10000"), monthly_limit_usd=None)).can_text


@pytest.mark.parametrize(("kind", "consent", "codes"), [
    (MessageKind.MANUAL, NO_CONSENT, ["not_opted_in"]),
    (MessageKind.AUTOMATED, NO_CONSENT, ["not_opted_in"]),
    (MessageKind.TEST, NO_CONSENT, []),
    (MessageKind.SYSTEM, NO_CONSENT, []),
    # An automatic answer stops at an opt-out; only what carriers require still goes (C2, C5).
    (MessageKind.SYSTEM, ConsentStatus(ConsentState.OPTED_OUT, False, NOW, "keyword"),
     ["opted_out"]),
    (MessageKind.COMPLIANCE, ConsentStatus(ConsentState.OPTED_OUT, False, NOW, "keyword"), []),
    (MessageKind.CAMPAIGN, OPTED_IN, ["no_marketing_consent"]),
    (MessageKind.CAMPAIGN, NO_CONSENT, ["not_opted_in"]),
    (MessageKind.CAMPAIGN, ConsentStatus(ConsentState.OPTED_IN, True, NOW, "web_form"), []),
])
def test_consent_by_kind(kind: MessageKind, consent: ConsentStatus, codes: list[str]) -> None:
    assert [r.code for r in evaluate(ctx(kind=kind, consent=consent)).blockers] == codes


@pytest.mark.parametrize("phone", ["+15551234567", "12345", "+442079460018"])
def test_a_system_answer_goes_to_whoever_texted_in(phone: str) -> None:
    system = ctx(kind=MessageKind.SYSTEM, phone_raw=phone, phone_finding="landline",
                 consent=NO_CONSENT)
    assert evaluate(system).codes == []
    assert "not_opted_in" in evaluate(replace(system, kind=MessageKind.AUTOMATED)).codes


def test_campaign_without_marketing_consent_says_so() -> None:
    blocker = evaluate(ctx(kind=MessageKind.CAMPAIGN)).blockers[0]
    assert blocker.code == "no_marketing_consent"
    assert blocker.message != CATALOGUE["not_opted_in"].message
    assert blocker.fix == "Record the patient's marketing consent, with how they gave it."


@pytest.mark.parametrize(("stage", "kind", "blocked"), [
    ("new", MessageKind.MANUAL, False), ("contacted", MessageKind.MANUAL, False),
    ("engaged", MessageKind.MANUAL, False), ("scheduled", MessageKind.MANUAL, True),
    ("closed_won", MessageKind.MANUAL, True), ("closed_lost", MessageKind.MANUAL, True),
    ("closed_lost", MessageKind.SYSTEM, False),  # the one "contact the clinic" answer (D3)
])
def test_lead_stage(stage: str, kind: MessageKind, blocked: bool) -> None:
    verdict = evaluate(ctx(lead_stage=stage, kind=kind))
    assert ("lead_inactive_stage" in verdict.codes) is blocked


@pytest.mark.parametrize(("body", "policy", "kind", "link_domain", "codes"), [
    ("https://example.com", "allow", MessageKind.MANUAL, None, []),
    ("https://example.com", "warn", MessageKind.AUTOMATED, None, []),
    ("https://example.com", "block", MessageKind.AUTOMATED, None, []),
    ("Book at https://smile.example.com/b", "block", MessageKind.MANUAL, "example.com", []),
    ("Book at https://example.com.evil.io/b", "block", MessageKind.MANUAL, "example.com",
     ["url_in_manual_text"]),
    ("tinyurl.com/abc", "block", MessageKind.AUTOMATED, None, ["link_shortener"]),
    ("tinyurl.com/abc", "block", MessageKind.MANUAL, None,
     ["url_in_manual_text", "link_shortener"]),
    ("Email jane@example.com", "block", MessageKind.MANUAL, None, []),
])
def test_links(body: str, policy: str, kind: MessageKind, link_domain: str | None,
               codes: list[str]) -> None:
    verdict = evaluate(ctx(body=body, url_policy=policy, kind=kind, link_domain=link_domain))
    assert verdict.codes == codes


def test_a_long_emoji_text_warns_twice_and_counts_ucs2_segments() -> None:
    verdict = evaluate(ctx(body="🙂" * 40))
    assert verdict.codes == ["multi_segment", "unicode_characters"]
    assert verdict.segments is not None and verdict.segments.segments == 2


def test_verdict_shows_content_when_a_body_is_judged() -> None:
    view = evaluate(ctx(body="€" * 81)).as_dict()
    assert view["content"] == {"encoding": "GSM-7", "segments": 2, "characters": 81,
                               "units": 162, "cost_usd": 0.0158}
    assert "content" not in evaluate(ctx(body=None)).as_dict()


def test_without_a_draft_no_content_rule_applies() -> None:
    assert evaluate(ctx(body=None, url_policy="block")).codes == []


def test_the_carriers_lookup_refuses_a_landline_before_any_send() -> None:
    verdict = evaluate(ctx(line_type="landline"))
    assert verdict.codes == ["phone_landline"]
    assert "the carrier's lookup says it is a landline" in verdict.blockers[0].message.lower()


@pytest.mark.parametrize("line_type", ["mobile", "personal", "unknown"])
def test_a_lookup_that_is_not_landline_or_voip_says_nothing(line_type: str) -> None:
    assert evaluate(ctx(line_type=line_type)).codes == []


def test_a_carrier_finding_wins_over_the_lookup_sentence() -> None:
    verdict = evaluate(ctx(phone_finding="landline", line_type="mobile"))
    assert verdict.codes == ["phone_landline"]
    assert verdict.blockers[0].message.startswith("The carrier reported")
