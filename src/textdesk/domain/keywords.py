"""Keywords in a patient's text: STOP, START, YES, HELP, and free-text revocations (C2–C5).

A keyword counts only when it is the whole body, ignoring case, spaces and punctuation
("Stop", " stop. ", "STOP!!", "opt-out", "Opt Out"). A text that merely contains a stop word
("stop by tomorrow?", "don't stop") is not a keyword. Phrases that ask to stop being texted in
other words ("please stop texting me") are a probable revocation for staff to confirm: the law
counts a revocation made "by any reasonable means", so they are flagged, never ignored.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class Keyword(StrEnum):
    STOP = "stop"  # opt out of every text from the practice
    START = "start"  # opt back in (always)
    YES = "yes"  # opt back in, but only right after an opt-out; otherwise an ordinary reply
    HELP = "help"  # who is texting and how to opt out; consent unchanged
    REVOCATION = "revocation"  # free text that probably revokes consent: flagged for staff
    NONE = "none"  # an ordinary reply


STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
START_WORDS = frozenset({"start", "unstop"})
YES_WORDS = frozenset({"yes"})
HELP_WORDS = frozenset({"help", "info"})

# Words that may surround a stop word without changing what it means ("STOP please").
_POLITE = frozenset({"please", "pls", "plz", "now", "thanks", "thank", "you", "thx", "ty", "me",
                     "it", "all", "asap", "immediately"})

# Free-text revocations, matched on the normalised words (lowercase, apostrophes dropped).
_REVOCATION_PATTERNS = tuple(re.compile(p) for p in (
    r"\b(stop|quit|cease) (texting|txting|messaging|msging|sending|contacting|spamming)\b",
    r"\b(dont|do not|never|no longer) (text|txt|message|msg|contact|sms)\b",
    r"\bremove (me|my (number|phone|cell))\b",
    r"\btake (me|my (number|phone|cell)) off\b",
    r"\b(unsubscribe|opt) me\b",
    r"\bopt (me )?out\b",
    r"\bno more (texts?|txts?|messages?|msgs?|texting|sms)\b",
    r"\b(dont|do not) want (any )?(more )?(texts?|messages?|these)\b",
    r"\bleave me alone\b",
    r"\bwrong (number|person)\b",
    r"\bnot (interested|a patient)\b",
))


def squeeze(body: str) -> str:
    """The body reduced to letters and digits, lowercase: what keywords are compared with."""
    text = unicodedata.normalize("NFKC", body).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def words(body: str) -> list[str]:
    """The body's words, lowercase, apostrophes dropped ("Don't" → "dont")."""
    text = unicodedata.normalize("NFKC", body).casefold()
    text = re.sub(r"['\u2019`]", "", text)
    return re.findall(r"[^\W_]+", text)


def classify(body: str | None) -> Keyword:
    """What an inbound text asks for, from its body alone (context is the caller's)."""
    if not body:
        return Keyword.NONE
    key = squeeze(body)
    for family, kind in ((STOP_WORDS, Keyword.STOP), (START_WORDS, Keyword.START),
                         (YES_WORDS, Keyword.YES), (HELP_WORDS, Keyword.HELP)):
        if key in family:
            return kind
    return Keyword.REVOCATION if is_probable_revocation(body) else Keyword.NONE


def is_probable_revocation(body: str) -> bool:
    """A text that asks, in other words, to stop being texted."""
    found = words(body)
    if not found:
        return False
    joined = " ".join(found)
    if any(pattern.search(joined) for pattern in _REVOCATION_PATTERNS):
        return True
    # A stop word with only politeness around it ("STOP please", "unsubscribe me now").
    stops = [w for w in found if w in STOP_WORDS or w == "opt"]
    return bool(stops) and all(w in STOP_WORDS or w in _POLITE or w in ("opt", "out")
                               for w in found)
