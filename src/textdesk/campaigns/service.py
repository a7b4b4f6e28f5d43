"""Campaigns (G4): an audience (filters or a CSV), a template and a start time; whoever the
rule engine refuses is skipped with its reason code and counted; the rest are queued, laid out
at each sending number's pace inside the send window; pause, resume, cancel; progress.

The rule engine is asked once per group of patients that look alike to it (same clinic, phone
check, country, carrier finding, consent and looked-up line type), with a real member of the
group as the example: its answer is the answer for every member, so 100,000 patients cost a few
dozen judgements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from textdesk.automation import service as automation, templates
from textdesk.automation.service import send_window
from textdesk.campaigns import audiences, fanout
from textdesk.campaigns.pacing import pace_of_number
from textdesk.campaigns.store import campaigns as campaign_store, texts as text_store

# Reads other features make here; the store stays private to this package.
from textdesk.campaigns.store.campaigns import (
    list_campaigns as list_campaigns,
)
from textdesk.domain.campaigns import CampaignStatus, can_move
from textdesk.domain.errors import Conflict, Invalid, NotFound
from textdesk.domain.expiry import EXPIRED
from textdesk.domain.messages import MessageKind
from textdesk.domain.templates import Purpose, render
from textdesk.lookups import service as lookups
from textdesk.messaging.recipients import Recipient, judge
from textdesk.messaging.service import cancel as cancel_text
from textdesk.storage import directory as practice_store
from textdesk.storage.db import Database
from textdesk.storage.models import Campaign, Practice

# Blockers found after a campaign started that count as skips, not cancellations.
SKIPPED_AFTER_START = frozenset({"phone_landline"})
FIELDS = {"name", "template_id", "body", "audience", "start_at"}
SAMPLE = {"first_name": "Maria", "recall_link": "https://" + "d" * 30 + "/r/" + "t" * 50}


def create(session: Session, practice: Practice, data: dict[str, Any], now: datetime, *,
           actor: str = "api", lookup_budget: int = 0,
           audience_csv: audiences.AudienceCsv | None = None) -> Campaign:
    """Validate everything, then judge the audience and queue its texts in this transaction.

    An uploaded audience comes parsed (`audiences.parse_csv`, before the transaction opened):
    here it costs two bulk reads, whatever its size. Phones of the audience never checked are
    asked about (line type) before their texts go, within the practice's lookup budget
    (`lookup_budget`: the deployment's, for a practice without its own); those texts wait for
    the answer, and a landline is skipped.
    """
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
    automation.add(session, campaign)
    if audience_csv is not None:
        campaign.audience = {**campaign.audience, "csv": audiences.load_csv(
            session, practice, campaign.id, audience_csv)}
        filters = audiences.from_csv(filters)
    audiences.check_phones(session, practice, campaign.id, filters, now)
    verdicts = _judge_groups(session, practice, campaign, filters, now)
    campaign_store.write_recipients(session, campaign, filters, verdicts, now)
    fanout.write_texts(session, practice, campaign, now)
    lookups.request_before_campaign(session, practice, text_store.waiting_phones(
        session, campaign.id), now, lookup_budget)
    counts = campaign_store.recipient_counts(session, campaign.id)
    campaign.queued = counts.pop(None, 0)
    campaign.skipped = sum(counts.values())
    campaign.recipients = campaign.queued + campaign.skipped
    return campaign


SKIPPED_NAMES_SHOWN = 50  # per reason, in the preview; the count says how many in all


def preview(session: Session, practice: Practice, data: dict[str, Any], now: datetime
            ) -> dict[str, Any]:
    """What `create` would do, undone: recipients, queued, skipped by reason, the body as one
    recipient reads it, and each clinic's number with its pace. The same path judges, so the
    preview cannot disagree with the start."""
    savepoint = session.begin_nested()
    try:
        campaign = create(session, practice, data, now)
        counts = campaign_store.recipient_counts(session, campaign.id)
        queued = counts.pop(None, 0)
        per_clinic = campaign_store.queued_per_clinic(session, campaign.id)
        senders = []
        for clinic_id, count in sorted(per_clinic.items()):
            number = practice_store.clinic_number(session, practice.id, clinic_id)
            if number is not None:
                pace = pace_of_number(session, number)
                senders.append({"e164": number.e164, "texts": count,
                                "per_second": pace.segments_per_second,
                                "seconds": count * pace.interval.total_seconds()})
        first_clinic = min(per_clinic) if per_clinic else None
        sample = render(campaign.body, {**SAMPLE, **templates.clinic_values(
            session, practice, first_clinic)})
        people = campaign_store.skipped_people(session, campaign.id, SKIPPED_NAMES_SHOWN)
        return {"recipients": queued + sum(counts.values()), "queued": queued,
                "skipped": sum(counts.values()), "skipped_by_reason": dict(sorted(
                    counts.items())), "senders": senders, "sample": sample,
                "start_at": campaign.start_at,
                "skipped_people": {reason: [{"id": pid, "name": f"{first} {last}".strip()}
                                            for pid, first, last in named]
                                   for reason, named in people.items()}}
    finally:
        savepoint.rollback()


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


# --- after it started ------------------------------------------------------------------------

def get(session: Session, practice_id: int, campaign_id: int) -> Campaign:
    campaign = campaign_store.get_campaign(session, practice_id, campaign_id)
    if campaign is None:
        raise NotFound("campaign_not_found", "No such campaign.")
    return campaign


def read(session: Session, practice_id: int, campaign_id: int) -> Campaign:
    """The campaign, for reading only (no lock)."""
    campaign = campaign_store.find_campaign(session, practice_id, campaign_id)
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


def resume(session: Session, practice: Practice, campaign_id: int, now: datetime
           ) -> Campaign:
    """Waiting texts are laid out again from now, at each number's pace, each in its
    recipient's window."""
    campaign = get(session, practice.id, campaign_id)
    _move(campaign, CampaignStatus.RUNNING, now)
    fanout.replan(session, practice, campaign.id, now)
    return campaign


def cancel(session: Session, practice: Practice, campaign_id: int, now: datetime) -> Campaign:
    campaign = get(session, practice.id, campaign_id)
    _move(campaign, CampaignStatus.CANCELED, now)
    for message in text_store.waiting_texts(session, campaign.id):
        cancel_text(session, message, "campaign_canceled", now, source="campaign")
    return campaign


def progress(session: Session, practice: Practice, campaign_id: int) -> dict[str, Any]:
    """Queued, sent, delivered, failed, canceled and skipped by reason (a read: completion is
    the connector's scheduler's, `complete_finished`)."""
    campaign = read(session, practice.id, campaign_id)
    texts = text_store.status_counts(session, campaign.id)
    waiting = texts.get("pending", 0) + texts.get("sending", 0)
    skipped: dict[str, int] = {}
    for reason, count in campaign_store.recipient_counts(session, campaign.id).items():
        if reason is not None:
            skipped[reason] = count
    canceled = text_store.cancel_counts(session, campaign.id)
    # A phone found to be a landline after the start (the pre-campaign lookup) is skipped
    # with that reason, as if it had been known at the start; its text never left.
    for reason in SKIPPED_AFTER_START & set(canceled):
        skipped[reason] = skipped.get(reason, 0) + canceled.pop(reason)
    return {"recipients": campaign.recipients, "queued": waiting,
            "sent": texts.get("sent", 0), "delivered": texts.get("delivered", 0),
            "failed": texts.get("failed", 0) + texts.get("undelivered", 0),
            "canceled": sum(canceled.values()),
            "canceled_by_reason": dict(sorted(canceled.items())),
            "expired": sum(n for r, n in canceled.items() if r.startswith(EXPIRED)),
            "skipped": sum(skipped.values()),
            "skipped_by_reason": dict(sorted(skipped.items()))}


def complete_finished(db: Database, now: datetime) -> int:
    """Running campaigns with nothing left to send become `completed` (a scheduler job);
    returns how many."""
    done = 0
    with db.transaction() as session:
        for campaign in campaign_store.running_campaigns(session):
            if not text_store.has_waiting(session, campaign.id):
                _move(campaign, CampaignStatus.COMPLETED, now)
                done += 1
    return done
