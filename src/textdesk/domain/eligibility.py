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
from textdesk.domain.messages import MessageKind, may_reach_opted_out
from textdesk.domain.phone import FINDING_SENTENCES, PhoneFinding, check_country, parse_phone
from textdesk.domain.reasons import Reason, reason
from textdesk.domain.segments import MAX_BODY_CHARS, Encoding, SegmentInfo, count_segments

ACTIVE_LEAD_STAGES = frozenset({"new", "contacted", "engaged"})


@dataclass(frozen=True)
class NumberFacts:
    kind: str  # local | toll_free | short_code | hosted_landline
    status: str  # active | pending_verification
    registration_status: str  # none | pending | approved | rejected
    # The Twilio Messaging Service the number sends through (its 10DLC campaign is registered
    # on the service, so `registration_status` is the service's), or None.
    messaging_service_sid: str | None = None

    @property
    def sender(self) -> str:
        """How the rules name the sender to staff."""
        return ("The clinic's messaging service" if self.messaging_service_sid
                else "The clinic's sending number")


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
    line_type: str | None = None  # the carrier lookup's answer for the phone, when known
    consent: ConsentStatus = NO_CONSENT
    lead_stage: str | None = None  # None when the recipient is a patient
    body: str | None = None  # None when asking "can I text?" without a draft
    media_count: int = 0  # pictures / PDFs attached: the text goes as one MMS
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

    @property
    def codes(self) -> list[str]:
        """Every code, blockers first (handy in tests and logs: codes carry no patient data)."""
        return [r.code for r in (*self.blockers, *self.holds, *self.warnings)]

    def as_dict(self) -> dict[str, object]:
        view: dict[str, object] = {
            "can_text": self.can_text,
            "blockers": [r.as_dict() for r in self.blockers],
            "holds": [r.as_dict() for r in self.holds],
            "warnings": [r.as_dict() for r in self.warnings],
        }
        if self.segments is not None:
            view["content"] = self.segments.as_dict()
        return view


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
            f"{ctx.number.sender} has no approved messaging registration "
            f"(registration is {ctx.number.registration_status}).",
        ))
    # The one automated answer to an inactive lead's reply (D3), and the keyword answers,
    # answer the lead's own text.
    if (ctx.lead_stage is not None and ctx.lead_stage not in ACTIVE_LEAD_STAGES
            and not ctx.kind.answers_inbound):
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
    if ctx.kind.answers_inbound:
        return  # it answers a number that has just texted in: that number takes texts
    parsed = parse_phone(ctx.phone_raw, ctx.default_country)
    if parsed.problem is not None:
        v.blockers.append(reason(parsed.problem.value, parsed.detail))
    elif ctx.phone_finding in FINDING_SENTENCES:
        problem, sentence = FINDING_SENTENCES[PhoneFinding(ctx.phone_finding)]
        v.blockers.append(reason(problem.value, sentence))
    elif ctx.line_type is not None:
        _line_type_rules(ctx.line_type, v)
    country = check_country(parsed, list(ctx.allowed_countries))
    if country:
        v.blockers.append(reason("country_not_eligible", country))


def _line_type_rules(line_type: str, v: Verdict) -> None:
    """What the carrier's line-type lookup said, before anything was sent."""
    if line_type == "landline":
        v.blockers.append(reason(
            "phone_landline",
            "The carrier's lookup says it is a landline, which cannot receive texts."))
    elif line_type in ("fixedVoip", "nonFixedVoip"):
        v.warnings.append(reason("phone_voip"))


def _consent_rules(ctx: SendContext, v: Verdict) -> None:
    state = ctx.consent.state
    if state is ConsentState.OPTED_OUT:
        # The one predicate (the claims and the STOP handler ask it too).
        if not may_reach_opted_out(ctx.kind):
            v.blockers.append(reason("opted_out", _opt_out_sentence(ctx.consent)))
        return
    # A test text goes to the office's own phone; an automatic answer answers the person's
    # own text: neither needs an opt-in on record.
    if ctx.kind is MessageKind.TEST or ctx.kind.answers_inbound:
        return
    if state is ConsentState.NONE:
        v.blockers.append(reason("not_opted_in"))
    elif ctx.kind is MessageKind.CAMPAIGN and not ctx.consent.marketing:
        v.blockers.append(reason("no_marketing_consent"))


def _opt_out_sentence(consent: ConsentStatus) -> str:
    how = (consent.last_source or "").replace("_", " ")
    when = consent.last_change_at
    detail = "The patient opted out of texts from this practice"
    if how:
        detail += f" ({how}"
        detail += f", {when:%Y-%m-%d %H:%M} UTC)" if when else ")"
    return detail + "."


def _content_rules(ctx: SendContext, v: Verdict) -> None:
    if ctx.body is None:
        return
    if not ctx.body.strip():
        if not ctx.media_count:  # a picture alone is a text (MMS with no body)
            v.blockers.append(reason("body_empty"))
        return
    if len(ctx.body) > MAX_BODY_CHARS:
        v.blockers.append(reason(
            "body_too_long",
            f"The text is {len(ctx.body):,} characters; the limit is {MAX_BODY_CHARS:,}."))
    _link_rules(ctx, ctx.body, v)
    seg = None if ctx.media_count else v.segments  # an MMS is one part, any alphabet
    if seg is not None and seg.segments > 1:
        v.warnings.append(reason(
            "multi_segment",
            f"The text is sent as {seg.segments} segments ({seg.encoding.value}) and costs "
            f"${seg.cost():.4f} instead of ${seg.cost() / seg.segments:.4f}."))
    if seg is not None and seg.encoding is Encoding.UCS2:
        odd = content.non_gsm_characters(ctx.body)
        v.warnings.append(reason(
            "unicode_characters",
            f"The text has characters outside GSM-7 ({' '.join(odd)}), so it is sent as UCS-2 "
            f"with 70 characters per segment instead of 160."))


def _link_rules(ctx: SendContext, body: str, v: Verdict) -> None:
    links = content.find_links(body)
    foreign = [lk for lk in links if not content.is_own_domain(lk, ctx.link_domain)]
    if ctx.kind.is_manual and foreign and ctx.url_policy != "allow":
        if ctx.url_policy == "block":
            v.blockers.append(reason("url_in_manual_text"))
        else:
            v.warnings.append(reason(
                "url_in_manual_text",
                "The text holds a link; carriers often filter manual texts with links."))
    shorteners = sorted({content.link_host(lk) for lk in links if content.is_shortener(lk)})
    if shorteners:
        v.warnings.append(reason(
            "link_shortener",
            f"The text uses a public link shortener ({', '.join(shorteners)}), which carriers "
            f"often block."))


def _hold_rules(ctx: SendContext, v: Verdict) -> None:
    if ctx.number is not None and ctx.number.status == "pending_verification":
        v.holds.append(reason("number_pending_verification"))
    if not ctx.connector_alive:
        v.holds.append(reason("connector_down"))
    v.holds.extend(ctx.extra_holds)
