"""Files a simulated patient sends: a real (tiny) PNG, a PDF, and things that are neither."""

from __future__ import annotations

import struct
import zlib


def png(width: int = 48, height: int = 32, rgb: tuple[int, int, int] = (46, 125, 190)) -> bytes:
    """A valid PNG of one colour, built by hand (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")
NOT_A_PICTURE = b"<!doctype html><title>not a picture</title>"


def sample(content_type: str, size: int | None = None) -> bytes:
    """A file of that kind; `size` pads it (a PNG ignores bytes after its end) to test caps."""
    if content_type == "application/pdf":
        data = PDF
    elif content_type.startswith("image/"):
        data = png()
    else:
        data = NOT_A_PICTURE
    if size is not None and size > len(data):
        data += b"\x00" * (size - len(data))
    return data
