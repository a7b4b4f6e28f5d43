"""Pictures and documents in texts (MMS): which kinds are taken, how big, and what a file is.

A file's kind is read from its first bytes (its magic number), never taken from a header or a
file name alone: a declared `image/png` that is really an HTML page is refused. Twilio accepts
up to 10 media per message and 5 MB in all; textdesk keeps to that for what it sends and for
what it keeps of what patients send.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from textdesk.domain.errors import Unprocessable

MAX_MEDIA_PER_MESSAGE = 10  # Twilio's limit on MediaUrl per message (and NumMedia inbound)
MAX_MEDIA_BYTES = 5 * 1024 * 1024  # one file; Twilio's limit for a whole MMS is the same
MAX_MEDIA_URL_CHARS = 1000

# The kinds taken, each with the file extension it is stored under.
MEDIA_TYPES: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
}
IMAGE_TYPES = frozenset(t for t in MEDIA_TYPES if t.startswith("image/"))
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf":
            "application/pdf"}


class MediaStatus(StrEnum):
    """A media item's life: an upload is `stored` at once; a patient's picture waits.

        pending ─► stored        (fetched from the carrier, checked and kept)
           └─────► failed        (could not be fetched, too big, or not a picture / PDF)
    """

    PENDING = "pending"  # a patient's picture, not fetched from the carrier yet
    STORED = "stored"  # the bytes are kept and may be shown or sent
    FAILED = "failed"  # nothing kept; `error` says why


# Why a file was refused or could not be kept: a stable code and the sentence staff read.
MEDIA_ERRORS: dict[str, str] = {
    "media_empty": "The file is empty.",
    "media_too_large": f"The file is larger than {MAX_MEDIA_BYTES // (1024 * 1024)} MB.",
    "media_type_not_allowed": "Only pictures (JPEG, PNG, GIF, WebP) and PDF files are taken.",
    "media_type_mismatch": "The file is not what it says it is (its content does not match "
                           "its declared type).",
    "media_fetch_failed": "The carrier did not hand over the file.",
}
FETCH_FAILED_SENTENCE = "The picture could not be fetched"


def fetch_failure_sentence(error: str | None) -> str:
    """What a patient's picture that was not kept says in the thread and the API."""
    detail = MEDIA_ERRORS.get(error or "", MEDIA_ERRORS["media_fetch_failed"])
    return f"{FETCH_FAILED_SENTENCE}: {detail[0].lower()}{detail[1:]}"


def normalize_content_type(value: str | None) -> str:
    """`Image/PNG; charset=x` → `image/png`; common aliases folded; "" when absent."""
    base = (value or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def sniff_type(head: bytes) -> str | None:
    """The kind the file's first bytes say it is, among MEDIA_TYPES; None otherwise."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


@dataclass(frozen=True)
class CheckedMedia:
    content_type: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.content_type in IMAGE_TYPES


def check_media(data: bytes, declared: str | None = None,
                max_bytes: int = MAX_MEDIA_BYTES) -> CheckedMedia:
    """The file's kind and size, or Unprocessable (422) with a stable code (MEDIA_ERRORS).

    The content decides; a declared type (a header, a form field) must agree with it when
    given. `application/octet-stream` declares nothing.
    """
    if not data:
        raise Unprocessable("media_empty", MEDIA_ERRORS["media_empty"], field="file")
    if len(data) > max_bytes:
        raise Unprocessable("media_too_large", f"The file is {len(data):,} bytes; at most "
                                               f"{max_bytes:,} are taken.", field="file")
    found = sniff_type(data[:16])
    if found is None:
        raise Unprocessable("media_type_not_allowed", MEDIA_ERRORS["media_type_not_allowed"],
                            field="file")
    claimed = normalize_content_type(declared)
    if claimed and claimed != "application/octet-stream" and claimed != found:
        raise Unprocessable("media_type_mismatch", MEDIA_ERRORS["media_type_mismatch"],
                            field="file")
    return CheckedMedia(found, len(data))
