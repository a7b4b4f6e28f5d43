"""A campaign's texts, computed by the domain's own rules for the whole audience and written in
bulk: each body with its first name and signed recall link, its segments and cost, and its
planned slot and hold in its own recipient's window at its number's pace; and re-planning
waiting texts when a campaign resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from itertools import groupby
from typing import Any

from sqlalchemy.orm import Session

from textdesk.automation import service as automation, templates
from textdesk.automation.service import AUTOMATION_ACTOR, link_base, send_window, zones_for
from textdesk.campaigns.pacing import pace_of_number
from textdesk.campaigns.store import texts as text_store
from textdesk.campaigns.store.texts import QueuedMember
from textdesk.domain import links
from textdesk.domain.campaigns import plan_texts
from textdesk.domain.expiry import end_of_day
from textdesk.domain.messages import Direction, MessageKind, Status
from textdesk.domain.segments import count_segments
from textdesk.domain.templates import render
from textdesk.storage import directory as practice_store
from textdesk.storage.models import Campaign, Practice, SendingNumber

FIRST_NAME_MARK = "\ue000"  # where each recipient's own value goes (templates refuse these)
RECALL_LINK_MARK = "\ue001"


def write_texts(session: Session, practice: Practice, campaign: Campaign, now: datetime
                ) -> int:
    """The campaign's queued recipients become `pending` texts; returns how many."""
    text_store.ensure_conversations(session, campaign.id, practice.id, now)
    members = text_store.queued_members(session, campaign.id, practice.id)
    if not members:
        return 0
    begin = max(now, campaign.start_at)
    key = automation.link_key(session, practice.id, now)
    fixed = {"practice_id": practice.id, "direction": Direction.OUTBOUND.value,
             "kind": MessageKind.CAMPAIGN.value, "status": Status.PENDING.value,
             "attempts": 0, "created_by": AUTOMATION_ACTOR, "is_read": True,
             "created_at": now, "updated_at": now, "campaign_id": campaign.id}
    rows: list[dict[str, Any]] = []
    for clinic_id, group in groupby(sorted(members, key=lambda m: m.clinic_id),
                                    key=lambda m: m.clinic_id):
        number = practice_store.clinic_number(session, practice.id, clinic_id)
        if number is not None:
            rows += _clinic_texts(session, practice, campaign, number, list(group), key,
                                  now, begin)
    written = text_store.insert_texts(session, fixed, rows)
    text_store.write_history(session, campaign.id, now)
    return written


def _clinic_texts(session: Session, practice: Practice, campaign: Campaign,
                  number: SendingNumber, members: Sequence[QueuedMember], key: bytes,
                  now: datetime, begin: datetime) -> list[dict[str, Any]]:
    values = {"first_name": FIRST_NAME_MARK, "recall_link": RECALL_LINK_MARK,
              **templates.clinic_values(session, practice, number.clinic_id)}
    template = render(campaign.body, values)
    last_day = links.last_day_for(begin + links.RECALL_VALID_FOR)
    base = link_base(session, practice)
    bodies = [_body(template, practice.id, m, key, last_day, base) for m in members]
    counts = [count_segments(body) for body in bodies]
    plan = plan_texts(now, begin, [(zones_for(practice, m.phone_e164), c.segments)
                                   for m, c in zip(members, counts, strict=True)],
                      pace_of_number(session, number).interval, send_window(practice))
    return [{"clinic_id": number.clinic_id, "number_id": number.id,
             "from_e164": number.e164, "conversation_id": m.conversation_id,
             "patient_id": m.patient_id,
             "body": body, "to_e164": m.phone_e164, "segments": seg.segments,
             "encoding": seg.encoding.value, "cost_usd": seg.cost(),
             "next_attempt_at": slot.at, "wait_reason": slot.hold,
             # A campaign text belongs to its day (ValidityPeriod and the expiry sweep).
             "expires_at": end_of_day(slot.at, practice.timezone)}
            for m, body, seg, slot in zip(members, bodies, counts, plan, strict=True)]


def _body(template: str, practice_id: int, member: QueuedMember, key: bytes,
          last_day: date, base: str) -> str:
    body = template.replace(FIRST_NAME_MARK, member.first_name)
    if RECALL_LINK_MARK in body:
        claim = links.LinkClaim(links.LinkKind.RECALL, practice_id, member.patient_id, last_day)
        link = links.url(base, links.LinkKind.RECALL, links.sign(key, claim))
        body = body.replace(RECALL_LINK_MARK, link)
    return body


def replan(session: Session, practice: Practice, campaign_id: int, now: datetime) -> None:
    """Lay a resumed campaign's waiting texts out again from now, number by number, each in
    its recipient's window."""
    window = send_window(practice)
    for number_id, waiting in text_store.waiting_of_numbers(session, campaign_id).items():
        number = practice_store.get_number(session, number_id)
        if number is None:
            continue
        plan = plan_texts(now, now, [(zones_for(practice, w.to_e164), w.segments)
                                     for w in waiting],
                          pace_of_number(session, number).interval, window)
        text_store.set_plan(session, [(w.id, p.at, p.hold, end_of_day(p.at, practice.timezone))
                                      for w, p in zip(waiting, plan, strict=True)], now)
