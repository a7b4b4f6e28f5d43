"""Tables of event webhooks: the practice's receiver endpoints and the outbox of deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class WebhookEndpoint(Base):
    """One receiver of a practice's events; its signing secret is stored sealed, never shown."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_practice", "practice_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)  # names from domain.webhooks.EventType
    include_bodies: Mapped[bool] = mapped_column(Boolean, default=False)  # bodies and phones
    secret_sealed: Mapped[str] = mapped_column(Text)  # Fernet token of the whsec_ secret
    status: Mapped[str] = mapped_column(String(10))  # enabled | disabled
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    failing_since: Mapped[datetime | None]  # first failed attempt since the last success
    last_error: Mapped[str | None] = mapped_column(String(300))  # e.g. "HTTP 500", "timeout"
    last_delivered_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """The outbox: one event for one endpoint, written in the transaction of the change.

    `payload` is the exact JSON body sent (and signed), so every attempt and replay carries
    the same bytes under the same `webhook-id` (`event_id`).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[str] = mapped_column(String(40))  # the webhook-id header
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # since it was last queued
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]  # a connector is attempting it until then
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # that attempt's own token
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))  # never a response body
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
