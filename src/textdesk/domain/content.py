"""What a text says: links, public shorteners and body length."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# Scheme links and bare domains with a path or a common top-level domain.
_URL = re.compile(
    r"(?i)\b(?:https?://[^\s<>\"]+|www\.[^\s<>\"]+|"
    r"(?:[a-z0-9-]+\.)+(?:com|net|org|io|ly|gl|gd|co|me|us|info|biz|link|app|health|dental)"
    r"(?:/[^\s<>\"]*)?)"
)

PUBLIC_SHORTENERS = frozenset({
    "bit.ly", "tinyurl.com", "goo.gl", "is.gd", "t.co", "ow.ly", "buff.ly", "rebrand.ly",
    "cutt.ly", "shorturl.at", "tiny.cc", "bl.ink", "rb.gy", "v.gd", "t.ly", "s.id", "lnkd.in",
    "short.io", "shorte.st", "adf.ly", "bitly.com", "qrco.de",
})


def find_links(body: str) -> list[str]:
    return [m.group(0).rstrip(".,;:!?)") for m in _URL.finditer(body)]


def link_host(link: str) -> str:
    target = link if "://" in link else "http://" + link
    host = (urlsplit(target).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def is_shortener(link: str) -> bool:
    return link_host(link) in PUBLIC_SHORTENERS


def is_own_domain(link: str, link_domain: str | None) -> bool:
    if not link_domain:
        return False
    host, own = link_host(link), link_domain.lower()
    return host == own or host.endswith("." + own)
