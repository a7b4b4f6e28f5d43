"""Campaigns (G4): an audience (filters or a CSV), a template and a start time; whoever the
rule engine refuses is skipped with its reason code and counted; the rest are queued, laid out
at each sending number's pace inside the send window; pause, resume, cancel; progress.

The rule engine is asked once per group of patients that look alike to it (same clinic, phone
check, country, carrier finding and consent), with a real member of the group as the example:
its answer is the answer for every member, so 100,000 patients cost a few dozen judgements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.domain import links
from textdesk.domain.campaigns import CampaignStatus, can_move, plan_stretches
from textdesk.domain.errors import Conflict, Invalid, NotFound
from textdesk.domain.messages import MessageKind
from textdesk.domain.segments import GSM_BASIC, PRICE_PER_SEGMENT_USD, count_segments
from textdesk.domain.templates import Purpose, render
from textdesk.services import audiences, templates
from textdesk.services.automation import AUTOMATION_ACTOR, link_base, send_window, zones_for
from textdesk.services.messaging import cancel as cancel_text
from textdesk.services.pacing import pace_of_number
from textdesk.services.recipients import Recipient, judge
from textdesk.storage import automation as store
from textdesk.storage import campaign_texts as text_store
from textdesk.storage import campaigns as campaign_store
from textdesk.storage import practices as practice_store
from textdesk.storage.campaign_texts import FIRST_NAME_MARK, RECALL_LINK_MARK, TextPlan
from textdesk.storage.campaigns import Campaign
from textdesk.storage.models import Practice

FIELDS = {"name", "template_id", "body", "audience", "audience_csv", "start_at"}
SAMPLE = {"first_name": "Maria", "recall_link": "https://" + "d" * 30 + "/r/" + "t" * 50}


def create(session: Session, practice: Practice, data: dict[str, Any], now: datetime, *,
           is_postgres: bool, actor: str = "api") -> Campaign:
    """Validate everything, then judge the audience and queue its texts in this transaction."""
    unknown = set(data) - FIELDS
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(sorted(unknown))}.")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("invalid_name", "A campaign needs a name.")
    template_id, body = _body(session, practice, data)
    filters = audiences.filters(session, practice, data.get("audience") or {})
    start = audiences.start_at(data.get("start_at"), now)
    send_window(practice)  # an empty window is refused before anything is written
    campaign = Campaign(practice_id=practice.id, name=name.strip()[:200], template_id=template_id,
                        body=body, audience=dict(data.get("audience") or {}),
                        status=CampaignStatus.RUNNING.value, start_at=start, created_by=actor,
                        created_at=now, updated_at=now)
    store.add(session, campaign)
    if data.get("audience_csv") is not None:
        campaign.audience = {**campaign.audience, "csv": audiences.load_csv(
            session, practice, campaign.id, data["audience_csv"])}
        filters = audiences.from_csv(filters)
    audiences.check_phones(session, practice, campaign.id, filters, now)
    verdicts = _judge_groups(session, practice, campaign, filters, now)
    campaign_store.write_recipients(session, campaign, filters, verdicts, now)
    _write_texts(session, practice, campaign, now, is_postgres)
    counts = campaign_store.recipient_counts(session, campaign.id)
    campaign.queued = counts.pop(None, 0)
    campaign.skipped = sum(counts.values())
    campaign.recipients = campaign.queued + campaign.skipped
    return campaign


def _body(session: Session, practice: Practice, data: dict[str, Any]) -> tuple[int | None, str]:
    if data.get("template_id") is not None:
        template = templates.get(session, practice.id, data["template_id"])
        if template.purpose not in (Purpose.CAMPAIGN, Purpose.RECALL):
            raise Invalid("invalid_template_purpose",
                          "A campaign needs a campaign or recall template.")
        return template.id, template.body
    return None, templates.checked_body(data.get("body"), Purpose.CAMPAIGN)


def _judge_groups(session: Session, practice: Practice, campaign: Campaign,
                  filters: campaign_store.Filters, now: datetime
                  ) -> dict[tuple[Any, ...], str | None]:
    """Each group's first blocker (None: may be texted), from the rule engine itself."""
    verdicts: dict[tuple[Any, ...], str | None] = {}
    for group in campaign_store.groups(session, practice.id, campaign.id, filters, now):
        values = {**SAMPLE, **templates.clinic_values(session, practice, group.clinic_id)}
        body = render(campaign.body, values)
        member = Recipient(practice.id, group.clinic_id, group.sample_phone,
                           group.phone_finding)
        verdict = judge(session, member, now=now, body=body, kind=MessageKind.CAMPAIGN).verdict
        verdicts[group.key] = verdict.blockers[0].code if verdict.blockers else None
    return verdicts


def _write_texts(session: Session, practice: Practice, campaign: Campaign, now: datetime,
                 is_postgres: bool) -> None:
    queued = campaign_store.queued_per_clinic(session, campaign.id)
    if not queued:
        return
    text_store.ensure_conversations(session, campaign.id, practice.id, now, is_postgres)
    plain = True
    for clinic_id, count in sorted(queued.items()):
        plan = _plan(session, practice, campaign, clinic_id, count, now)
        if plan is None:
            continue
        plain = plain and all(ch in GSM_BASIC for ch in _constant_text(plan.body))
        text_store.write_texts(session, plan, is_postgres)
    text_store.write_history(session, campaign.id, now)
    _recount(session, campaign.id, is_postgres, every=not plain)


def _constant_text(body: str) -> str:
    return body.replace(FIRST_NAME_MARK, "").replace(RECALL_LINK_MARK, "")


def _plan(session: Session, practice: Practice, campaign: Campaign, clinic_id: int,
          count: int, now: datetime, number_id: int | None = None) -> TextPlan | None:
    number = (practice_store.get_number(session, number_id) if number_id is not None
              else practice_store.clinic_number(session, practice.id, clinic_id))
    if number is None:
        return None
    values = {"first_name": FIRST_NAME_MARK, "recall_link": RECALL_LINK_MARK,
              **templates.clinic_values(session, practice, clinic_id)}
    body = render(campaign.body, values)
    interval = pace_of_number(session, number).interval
    begin = max(now, campaign.start_at)
    # The plan follows the window of the clinic's typical recipient; the claim still checks
    # each recipient's own window when the text comes due.
    typical = campaign_store.typical_phone(session, campaign.id, clinic_id)
    local = zones_for(practice, typical)[0]
    stretches = plan_stretches(begin, count, interval, local, send_window(practice))
    last_day = links.last_day_for(begin + links.RECALL_VALID_FOR)
    return TextPlan(
        campaign_id=campaign.id, practice_id=practice.id, clinic_id=clinic_id,
        number_id=number.id, from_e164=number.e164, body=body,
        link_prefix=links.url(link_base(practice), links.LinkKind.RECALL, ""),
        link_last_day=links.day_number(last_day),
        link_key=store.link_key(session, practice.id, now),
        constant_units=count_segments(_constant_text(body)).units, stretches=stretches,
        interval=interval, first_waits=stretches[0].opens > begin,
        price=PRICE_PER_SEGMENT_USD, actor=AUTOMATION_ACTOR, now=now)


def _recount(session: Session, campaign_id: int, is_postgres: bool, every: bool) -> None:
    rows = []
    for message_id, body in text_store.texts_to_recount(session, campaign_id, is_postgres,
                                                         every):
        seg = count_segments(body)
        rows.append({"id": message_id, "segments": seg.segments,
                     "encoding": seg.encoding.value, "cost_usd": seg.cost()})
    text_store.set_segments(session, rows)


# --- after it started ------------------------------------------------------------------------

def get(session: Session, practice_id: int, campaign_id: int) -> Campaign:
    campaign = campaign_store.get_campaign(session, practice_id, campaign_id)
    if campaign is None:
        raise NotFound("campaign_not_found", "No such campaign.")
    return campaign


def _move(campaign: Campaign, target: CampaignStatus, now: datetime) -> None:
    current = CampaignStatus(campaign.status)
    if not can_move(current, target):
        raise Conflict("campaign_status_not_allowed",
                       f"A {current.value} campaign cannot become {target.value}.",
                       status=current.value, requested=target.value)
    campaign.status, campaign.updated_at = target.value, now


def pause(session: Session, practice: Practice, campaign_id: int, now: datetime) -> Campaign:
    campaign = get(session, practice.id, campaign_id)
    _move(campaign, CampaignStatus.PAUSED, now)
    text_store.hold_all(session, campaign.id, now)
    return campaign


def resume(session: Session, practice: Practice, campaign_id: int, now: datetime, *,
           is_postgres: bool) -> Campaign:
    """Waiting texts are laid out again from now, at each number's pace."""
    campaign = get(session, practice.id, campaign_id)
    _move(campaign, CampaignStatus.RUNNING, now)
    for number_id, count in text_store.waiting_per_number(session, campaign.id).items():
        number = practice_store.get_number(session, number_id)
        plan = _plan(session, practice, campaign, number.clinic_id if number else 0, count,
                     now, number_id)
        if plan is not None:
            text_store.replan(session, plan, is_postgres)
    return campaign


def cancel(session: Session, practice: Practice, campaign_id: int, now: datetime) -> Campaign:
    campaign = get(session, practice.id, campaign_id)
    _move(campaign, CampaignStatus.CANCELED, now)
    for message in text_store.waiting_texts(session, campaign.id):
        cancel_text(session, message, "campaign_canceled", now, source="campaign")
    return campaign


def progress(session: Session, practice: Practice, campaign_id: int, now: datetime
             ) -> dict[str, Any]:
    """Queued, sent, delivered, failed, canceled and skipped by reason; completes the campaign
    once nothing is left to send."""
    campaign = get(session, practice.id, campaign_id)
    texts = text_store.status_counts(session, campaign.id)
    waiting = texts.get("pending", 0) + texts.get("sending", 0)
    if campaign.status == CampaignStatus.RUNNING and not waiting:
        _move(campaign, CampaignStatus.COMPLETED, now)
    skipped = campaign_store.recipient_counts(session, campaign.id)
    skipped.pop(None, None)
    return {"recipients": campaign.recipients, "queued": waiting,
            "sent": texts.get("sent", 0), "delivered": texts.get("delivered", 0),
            "failed": texts.get("failed", 0) + texts.get("undelivered", 0),
            "canceled": texts.get("canceled", 0), "skipped": sum(skipped.values()),
            "skipped_by_reason": dict(sorted(skipped.items()))}
