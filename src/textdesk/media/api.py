"""Media routes: upload a file for a text, read a file, and the signed link the carrier uses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from textdesk.domain.errors import Invalid
from textdesk.domain.media import MEDIA_TYPES
from textdesk.kit.schemas import Id, View
from textdesk.kit.web import PracticeDep, SessionDep, StateDep, api_router
from textdesk.media import links, service
from textdesk.storage.models import MediaItem

router = api_router(tags=["media"])
# Outside /api/v1 and its bearer auth: the signature is the credential (the carrier's fetch).
link_router = APIRouter(include_in_schema=False)


class UploadedOut(View):
    id: int
    url: str | None = None
    content_type: str
    size: int | None = None
    status: str


def file_response(item: MediaItem, data: bytes) -> Response:
    """The bytes as what they were checked to be; nothing in them may run as a page here."""
    ext = MEDIA_TYPES.get(item.content_type, "bin")
    return Response(data, media_type=item.content_type, headers={
        "Content-Disposition": f'inline; filename="file-{item.id}.{ext}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })


def read_upload(file: UploadFile, max_bytes: int) -> bytes:
    """At most `max_bytes` + 1 bytes of an upload (one more tells it is too big)."""
    data = file.file.read(max_bytes + 1)
    return data if isinstance(data, bytes) else bytes(data)


@router.post("/media", status_code=201, response_model=UploadedOut)
def upload_media(practice: PracticeDep, session: SessionDep, app: StateDep,
                 file: UploadFile = File(..., description="a JPEG, PNG, GIF, WebP or PDF")
                 ) -> dict[str, Any]:
    """Keep a file for a text (`POST /api/v1/messages {…, media: [id]}`). Its kind is read
    from its bytes; a declared type that disagrees is refused."""
    max_bytes = app.settings.media_max_bytes
    data = read_upload(file, max_bytes)
    item = service.upload(session, service.blob_store(app.settings), practice.id, data,
                          file.content_type, actor="api", now=app.clock.now(),
                          max_bytes=max_bytes)
    return service.item_view(item)


@router.get("/media/{media_id}", response_model=UploadedOut)
def get_media(media_id: Id, practice: PracticeDep, session: SessionDep) -> dict[str, Any]:
    return service.item_view(service.get_item(session, practice.id, media_id))


_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get("/media/{media_id}/content", response_class=Response,
            responses={200: {"description": "The file's bytes, as its content type says",
                             "content": {t: _BINARY for t in MEDIA_TYPES}}})
def get_media_content(media_id: Id, practice: PracticeDep, session: SessionDep,
                      app: StateDep) -> Response:
    item, data = service.read(session, service.blob_store(app.settings), practice.id, media_id)
    return file_response(item, data)


@link_router.get(links.LINK_PREFIX + "{token}")
def signed_media(token: str, session: SessionDep, app: StateDep) -> Response:
    """A file by its signed, expiring link: what the carrier fetches an MMS's MediaUrl from."""
    if not token:
        raise Invalid("media_not_found", "No such file.")
    item, data = service.read_signed(session, service.blob_store(app.settings),
                                     links.link_secret(app.settings), token, app.clock.now())
    return file_response(item, data)
