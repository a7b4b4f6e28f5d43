"""Can this text go out? One pure function returns every blocker, hold and warning at once.

The send path refuses with it, the connector re-checks with it, and `can-text`, `why` and the
pages explain with it. No rule about sending lives anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from textdesk.domain import content
from textdesk.domain.consent import NO_CONSENT, ConsentState, ConsentStatus
from textdesk.domain.messages import MessageKind
from textdesk.domain.phone import PhoneFinding, PhoneProblem, check_country, parse_phone
from textdesk.domain.reasons import Reason, reason
from textdesk.domain.segments import MAX_BODY_CHARS, SegmentInfo, count_segments

ACTIVE_LEAD_STAGES = frozenset({"new", "contacted", "engaged"})


@dataclass(frozen=True)
class NumberFacts:
    kind: str  # local | toll_free | short_code | hosted_landline
    status: str  # active | pending_verification
    registration_status: str  # none | pending | approved | rejected


@dataclass(frozen=True)
class SendContext:
    """Everything the rules need, as plain values; the caller loads it, the rules decide."""

    now: datetime
    sms_enabled: bool
    number: NumberFacts | None
    phone_raw: str | None
    default_country: str = "US"
    allowed_countries: tuple[str, ...] = ("US", "CA", "PR")
    phone_finding: str | None = None
    consent: ConsentStatus = NO_CONSENT
    lead_stage: str | None = None  # None when the recipient is a patient
    body: str | None = None  # None when asking "can I text?" without a draft
    kind: MessageKind = MessageKind.MANUAL
    url_policy: str = "warn"  # allow | warn | block
    link_domain: str | None = None
    connector_alive: bool = True
    month_spend_usd: Decimal = Decimal("0")
    monthly_limit_usd: Decimal | None = None
    extra_holds: tuple[Reason, ...] = ()  # holds computed by schedulers (quiet hours, pacing)


@dataclass(frozen=True)
class Verdict:
    blockers: list[Reason] = field(default_factory=list)
    holds: list[Reason] = field(default_factory=list)
    warnings: list[Reason] = field(default_factory=list)
    segments: SegmentInfo | None = None

    @property
    def can_text(self) -> bool:
        return not self.blockers

    def as_dict(self) -> dict[str, object]:
        return {
            "can_text": self.can_text,
            "blockers": [r.as_dict() for r in self.blockers],
            "holds": [r.as_dict() for r in self.holds],
            "warnings": [r.as_dict() for r in self.warnings],
        }


def evaluate(ctx: SendContext) -> Verdict:
    """Every reason this text cannot go out now, waits, or may cost more."""
    verdict = Verdict(segments=count_segments(ctx.body) if ctx.body is not None else None)
    _practice_rules(ctx, verdict)
    _phone_rules(ctx, verdict)
    _consent_rules(ctx, verdict)
    _content_rules(ctx, verdict)
    _hold_rules(ctx, verdict)
    return verdict


def _practice_rules(ctx: SendContext, v: Verdict) -> None:
    if not ctx.sms_enabled:
        v.blockers.append(reason("sms_not_enabled"))
    if ctx.number is None:
        v.blockers.append(reason("no_sending_number"))
    elif ctx.number.registration_status != "approved":
        v.blockers.append(reason(
            "messaging_not_approved",
            f"The clinic's sending number has no approved messaging registration "
            f"(registration is {ctx.number.registration_status}).",
        ))
    if ctx.lead_stage is not None and ctx.lead_stage not in ACTIVE_LEAD_STAGES:
        v.blockers.append(reason(
            "lead_inactive_stage",
            f"The lead is {ctx.lead_stage.replace('_', ' ')}, so the lead thread is closed.",
        ))
    if (ctx.kind.is_manual and ctx.monthly_limit_usd is not None
            and ctx.month_spend_usd >= ctx.monthly_limit_usd):
        v.blockers.append(reason(
            "spending_limit_reached",
            f"The clinic has spent ${ctx.month_spend_usd:.2f} of its "
            f"${ctx.monthly_limit_usd:.2f} monthly limit; manual texts are paused.",
        ))


def _phone_rules(ctx: SendContext, v: Verdict) -> None:
    parsed = parse_phone(ctx.phone_raw, ctx.default_country)
    if parsed.problem is not None:
        v.blockers.append(reason(parsed.problem.value, parsed.detail))
        return
    if ctx.phone_finding == PhoneFinding.LANDLINE:
        v.blockers.append(reason(PhoneProblem.LANDLINE.value,
                                 "The carrier reported this number as a landline."))
    elif ctx.phone_finding == PhoneFinding.INVALID:
        v.blockers.append(reason(PhoneProblem.INVALID.value,
                                 "The carrier reported this number as invalid or out of service."))
    country = check_country(parsed, list(ctx.allowed_countries))
    if country:
        v.blockers.append(reason("country_not_eligible", country))


def _consent_rules(ctx: SendContext, v: Verdict) -> None:
    if ctx.kind is MessageKind.TEST:
        return  # the office texting its own phone
    state = ctx.consent.state
    if state is ConsentState.OPTED_OUT:
        when = ctx.consent.last_change_at
        how = (ctx.consent.last_source or "").replace("_", " ")
        detail = "The patient opted out of texts from this practice"
        if how:
            detail += f" ({how}"
            detail += f", {when:%Y-%m-%d %H:%M} UTC)" if when else ")"
        v.blockers.append(reason("opted_out", detail + "."))
    elif state is ConsentState.NONE:
        v.blockers.append(reason("not_opted_in"))
    elif ctx.kind is MessageKind.CAMPAIGN and not ctx.consent.marketing:
        v.blockers.append(reason("not_opted_in", "There is no marketing consent on record."))


def _content_rules(ctx: SendContext, v: Verdict) -> None:
    if ctx.body is None:
        return
    if not ctx.body.strip():
        v.blockers.append(reason("body_empty"))
        return
    if len(ctx.body) > MAX_BODY_CHARS:
        v.blockers.append(reason(
            "body_too_long", f"The text is {len(ctx.body):,} characters; the limit is 1,600."))
    links = content.find_links(ctx.body)
    foreign = [lk for lk in links if not content.is_own_domain(lk, ctx.link_domain)]
    if ctx.kind.is_manual and foreign and ctx.url_policy != "allow":
        if ctx.url_policy == "block":
            v.blockers.append(reason("url_in_manual_text"))
        else:
            v.warnings.append(Reason("url_in_manual_text",
                                     "The text holds a link; carriers may filter texts with links.",
                                     "Remove the link, or send it through an automated message."))
    if any(content.is_shortener(lk) for lk in links):
        v.warnings.append(reason("link_shortener"))
    seg = v.segments
    if seg is not None and seg.segments > 1:
        v.warnings.append(reason("multi_segment",
                                 f"The text is sent as {seg.segments} segments and costs more."))
    if seg is not None and seg.encoding.value == "UCS-2":
        v.warnings.append(reason("unicode_characters"))


def _hold_rules(ctx: SendContext, v: Verdict) -> None:
    if ctx.number is not None and ctx.number.status == "pending_verification":
        v.holds.append(reason("number_pending_verification"))
    if not ctx.connector_alive:
        v.holds.append(reason("connector_down"))
    v.holds.extend(ctx.extra_holds)
