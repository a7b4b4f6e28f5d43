"""Pictures and documents of texts (MMS): one row per file, its bytes kept in the blob store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from textdesk.storage.models.core import Base


class MediaItem(Base):
    """A file of a text: uploaded by staff (outbound) or sent by a patient (inbound).

    An upload is `stored` with no message until a text takes it; a patient's picture is
    `pending` with the carrier's URL until the connector fetches it (`stored` or `failed`).
    """

    __tablename__ = "media"
    __table_args__ = (Index("ix_media_message", "message_id", "position"),
                      Index("ix_media_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)  # MediaUrl{n}'s n, or attach order
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound
    status: Mapped[str] = mapped_column(String(10))  # pending | stored | failed
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed once stored
    size: Mapped[int | None] = mapped_column(Integer)
    storage_key: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(1000))  # the carrier's, inbound only
    error: Mapped[str | None] = mapped_column(String(40))  # a MEDIA_ERRORS code when failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]
