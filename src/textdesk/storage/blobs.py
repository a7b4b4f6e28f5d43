"""Where the bytes of texts' media live: a small protocol and its file-system implementation.

Rows in the `media` table name a key; the bytes are kept here. The protocol is what an
S3-compatible store would implement too (docs/decisions/0191-media-storage.md).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,80}){0,3}$")


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Keep `data` under `key` (replacing what was there)."""
        ...

    def get(self, key: str) -> bytes | None:
        """The bytes under `key`, or None when there are none."""
        ...

    def delete(self, key: str) -> None: ...


def check_key(key: str) -> str:
    """A key is a relative path of plain names: never `..`, never absolute."""
    if not _KEY.match(key) or ".." in key:
        raise ValueError("not a blob key")
    return key


class FileBlobStore:
    """Files under one folder (TEXTDESK_MEDIA_DIR); each written whole, then renamed."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
