"""Texts' files (MMS): staff uploads, a patient's files fetched from the carrier, their views.

A patient's picture is only noted while the inbound webhook runs (Twilio waits 15 s at most);
the connector's scheduler fetches it with the account's credentials, checks its size and its
kind from its bytes, and keeps it in the blob store, or marks it `failed` with why.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from textdesk.carriers.base import CarrierError, InboundMedia
from textdesk.carriers.media import MediaFetcher, MediaTooLarge
from textdesk.config import Settings
from textdesk.domain.errors import NotFound, Unprocessable
from textdesk.domain.media import (
    MAX_MEDIA_BYTES,
    MAX_MEDIA_PER_MESSAGE,
    MEDIA_TYPES,
    MediaStatus,
    check_media,
    fetch_failure_sentence,
    normalize_content_type,
)
from textdesk.media import links, store
from textdesk.storage.blobs import BlobStore, FileBlobStore
from textdesk.storage.db import Database
from textdesk.storage.models import MediaItem, Message

log = logging.getLogger(__name__)

FETCH_BATCH = 20
FETCH_LEASE = timedelta(minutes=2)  # a claimed fetch is not claimed again before this
FETCH_BACKOFF = timedelta(seconds=5)


def blob_store(settings: Settings) -> BlobStore:
    """The configured store of media bytes (TEXTDESK_MEDIA_STORE)."""
    if settings.media_store == "filesystem":
        return FileBlobStore(settings.media_dir)
    raise ValueError(f"TEXTDESK_MEDIA_STORE={settings.media_store!r}: only 'filesystem' is "
                     "built in (see docs/decisions/0191-media-storage.md)")


def _key(practice_id: int, content_type: str) -> str:
    return f"p{practice_id}/{uuid.uuid4().hex}.{MEDIA_TYPES[content_type]}"


# --- staff uploads and sending ---------------------------------------------------------------

def upload(session: Session, blobs: BlobStore, practice_id: int, data: bytes,
           declared: str | None, *, actor: str | None, now: datetime,
           max_bytes: int = MAX_MEDIA_BYTES) -> MediaItem:
    """Check a staff member's file by its bytes and keep it, ready for a text to take."""
    checked = check_media(data, declared, max_bytes)
    key = _key(practice_id, checked.content_type)
    blobs.put(key, data)  # a file whose row is never committed is an orphan, never served
    item = MediaItem(practice_id=practice_id, direction="outbound",
                     status=MediaStatus.STORED.value, content_type=checked.content_type,
                     size=checked.size, storage_key=key, attempts=0, created_by=actor,
                     created_at=now, stored_at=now)
    session.add(item)
    session.flush()
    return item


def for_sending(session: Session, practice_id: int, media_ids: Sequence[int]) -> list[MediaItem]:
    """The practice's own uploads a new text may carry, in the order given; refuses (422, a
    stable code, nothing written) an unknown id, another practice's, or one already sent."""
    if not media_ids:
        return []
    if len(media_ids) > MAX_MEDIA_PER_MESSAGE:
        raise Unprocessable("too_many_media",
                            f"A text carries at most {MAX_MEDIA_PER_MESSAGE} files.", field="media")
    if len(set(media_ids)) != len(media_ids):
        raise Unprocessable("duplicate_media", "The same file is attached twice.", field="media")
    found = {m.id: m for m in store.many(session, practice_id, media_ids)}
    items: list[MediaItem] = []
    for media_id in media_ids:
        item = found.get(media_id)
        if item is None or item.direction != "outbound" or item.status != MediaStatus.STORED:
            raise Unprocessable("unknown_media", f"No uploaded file {media_id} of this practice.",
                                field="media")
        if item.message_id is not None:
            raise Unprocessable("media_already_sent",
                                f"File {media_id} went with another text; upload it again.",
                                field="media")
        items.append(item)
    if sum(i.size or 0 for i in items) > MAX_MEDIA_BYTES:
        raise Unprocessable("media_too_large", f"A text's files add up to at most "
                                               f"{MAX_MEDIA_BYTES // (1024 * 1024)} MB.",
                            field="media")
    return items


def attach(items: Sequence[MediaItem], message: Message) -> None:
    for position, item in enumerate(items):
        item.message_id, item.position = message.id, position
    message.num_media = len(items)


# --- a patient's files -----------------------------------------------------------------------

def note_inbound(session: Session, message: Message, refs: Sequence[InboundMedia],
                 now: datetime) -> None:
    """Remember where the carrier keeps each file; the connector fetches them."""
    for position, ref in enumerate(refs[:MAX_MEDIA_PER_MESSAGE]):
        session.add(MediaItem(
            practice_id=message.practice_id, message_id=message.id, position=position,
            direction="inbound", status=MediaStatus.PENDING.value,
            content_type=(normalize_content_type(ref.content_type)
                          or "application/octet-stream")[:100],
            source_url=ref.url, attempts=0, next_attempt_at=now, created_at=now))
    message.num_media = min(len(refs), MAX_MEDIA_PER_MESSAGE)


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = MAX_MEDIA_BYTES
    max_attempts: int = 5


def fetch_due(db: Database, fetcher: MediaFetcher, blobs: BlobStore, now: datetime,
              policy: FetchPolicy = FetchPolicy()) -> int:
    """One scheduler pass: claim due fetches (a short transaction), fetch each outside any
    transaction, then record each outcome in its own."""
    claimed: list[tuple[int, str, int]] = []
    with db.transaction() as session:
        for due in store.due_fetches(session, now, FETCH_BATCH):
            due.attempts += 1
            due.next_attempt_at = now + FETCH_LEASE
            claimed.append((due.id, due.source_url or "", due.practice_id))
    for media_id, url, practice_id in claimed:
        outcome = _fetch_one(fetcher, blobs, practice_id, url, policy.max_bytes)
        with db.transaction() as session:
            item = store.get(session, practice_id, media_id)
            if item is not None and item.status == MediaStatus.PENDING:
                _record(item, outcome, now, policy)
    return len(claimed)


@dataclass(frozen=True)
class _Outcome:
    key: str | None = None
    content_type: str | None = None
    size: int | None = None
    error: str | None = None
    is_transient: bool = False


def _fetch_one(fetcher: MediaFetcher, blobs: BlobStore, practice_id: int, url: str,
               max_bytes: int) -> _Outcome:
    try:
        fetched = fetcher.fetch(url, max_bytes)
        # The bytes decide what it is; the carrier's label is only a hint (phones mislabel).
        checked = check_media(fetched.data, None, max_bytes)
    except MediaTooLarge:
        return _Outcome(error="media_too_large")
    except CarrierError as exc:
        log.info("media fetch failed: %s", exc)
        return _Outcome(error="media_fetch_failed", is_transient=exc.is_transient)
    except Unprocessable as refused:
        return _Outcome(error=refused.code)
    key = _key(practice_id, checked.content_type)
    blobs.put(key, fetched.data)
    return _Outcome(key=key, content_type=checked.content_type, size=checked.size)


def _record(item: MediaItem, outcome: _Outcome, now: datetime, policy: FetchPolicy) -> None:
    if outcome.key is not None:
        item.status, item.storage_key, item.stored_at = MediaStatus.STORED.value, outcome.key, now
        item.content_type, item.size, item.error = outcome.content_type or "", outcome.size, None
        item.next_attempt_at = None
    elif outcome.is_transient and item.attempts < policy.max_attempts:
        item.next_attempt_at = now + FETCH_BACKOFF * (2 ** (item.attempts - 1))
        item.error = outcome.error
    else:
        item.status, item.error, item.next_attempt_at = (MediaStatus.FAILED.value,
                                                         outcome.error, None)


# --- reading and views -----------------------------------------------------------------------

def content_path(item: MediaItem) -> str:
    """Where a signed-in reader (API token or staff session) gets the bytes."""
    return f"/api/v1/media/{item.id}/content"


def item_view(item: MediaItem) -> dict[str, Any]:
    stored = item.status == MediaStatus.STORED
    return {"id": item.id, "url": content_path(item) if stored else None,
            "content_type": item.content_type, "size": item.size, "status": item.status,
            "error": item.error if item.status == MediaStatus.FAILED else None,
            "problem": (fetch_failure_sentence(item.error)
                        if item.status == MediaStatus.FAILED else None)}


def of_messages(session: Session, message_ids: Iterable[int]) -> dict[int, list[MediaItem]]:
    return store.of_messages(session, message_ids)


def views_of(session: Session, message_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    return {mid: [item_view(i) for i in items]
            for mid, items in store.of_messages(session, message_ids).items()}


def get_item(session: Session, practice_id: int, media_id: int) -> MediaItem:
    item = store.get(session, practice_id, media_id)
    if item is None:
        raise NotFound("media_not_found", "No such file.")
    return item


def read(session: Session, blobs: BlobStore, practice_id: int,
         media_id: int) -> tuple[MediaItem, bytes]:
    """A stored file of this practice; another practice's, or one not kept, is 404."""
    item = get_item(session, practice_id, media_id)
    data = blobs.get(item.storage_key) if item.storage_key else None
    if item.status != MediaStatus.STORED or data is None:
        raise NotFound("media_not_found", "No such file.")
    return item, data


def read_signed(session: Session, blobs: BlobStore, secret: str, token: str,
                now: datetime) -> tuple[MediaItem, bytes]:
    """The file a valid signed link names (what the carrier fetches); else 404."""
    media_id = links.media_id_of(secret, token, now)
    item = store.get_any(session, media_id) if media_id is not None else None
    if item is None:
        raise NotFound("media_not_found", "No such file.")
    return read(session, blobs, item.practice_id, item.id)


def signed_urls(settings: Settings, media_ids: Sequence[int], now: datetime) -> list[str]:
    return [links.signed_url(settings, media_id, now) for media_id in media_ids]
