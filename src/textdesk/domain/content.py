"""What a text says: the links it holds, and which of them are public shorteners (E1)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from textdesk.domain.segments import is_gsm7

# Top-level domains that make a bare "name.tld" read as a link. Carriers filter on what a
# phone would make clickable, so this errs on the side of finding a link.
_TLDS = (
    "com|net|org|edu|gov|io|ly|gl|gd|co|me|us|ca|uk|info|biz|link|app|health|dental|care|"
    "clinic|ai|to|gg|tv|xyz|site|online|page|life|at|it|de|fr|es|nl|be|ch|mx|in|au|nz|cc|ws|"
    "im|is|id|so|sh|mp|fm|li|su|tk|ml|ga|cf|ru|cn|jp|bz|la|vc|pw|club|shop|store|top"
)
_URL = re.compile(
    r"(?i)(?<![@\w.-])(?:https?://[^\s<>\"]+|www\.[^\s<>\"]+|"
    rf"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})\b(?![.-]?\w)(?:[/?#][^\s<>\"]*)?)"
)

PUBLIC_SHORTENERS = frozenset({
    "bit.ly", "tinyurl.com", "goo.gl", "is.gd", "t.co", "ow.ly", "buff.ly", "rebrand.ly",
    "cutt.ly", "shorturl.at", "tiny.cc", "bl.ink", "rb.gy", "v.gd", "t.ly", "s.id", "lnkd.in",
    "short.io", "shorte.st", "adf.ly", "bitly.com", "qrco.de", "j.mp", "tr.im", "x.co",
    "cli.gs", "ift.tt", "dlvr.it", "soo.gd", "clck.ru", "tinyurl.co", "t2m.io", "snip.ly",
})


def find_links(body: str) -> list[str]:
    """Every link in the text, as written (without trailing punctuation)."""
    return [m.group(0).rstrip(".,;:!?)'\"") for m in _URL.finditer(body)]


def link_host(link: str) -> str:
    target = link if "://" in link else "http://" + link
    host = (urlsplit(target).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def is_shortener(link: str) -> bool:
    host = link_host(link)
    return any(host == s or host.endswith("." + s) for s in PUBLIC_SHORTENERS)


def is_own_domain(link: str, link_domain: str | None) -> bool:
    if not link_domain:
        return False
    host, own = link_host(link), link_domain.lower()
    return host == own or host.endswith("." + own)


def non_gsm_characters(body: str, limit: int = 5) -> list[str]:
    """The first few distinct characters that force UCS-2, so staff see what to replace."""
    found: list[str] = []
    for ch in body:
        if not is_gsm7(ch) and ch not in found:
            found.append(ch)
            if len(found) == limit:
                break
    return found
