"""Headlines as the bot and the dashboard see them, and the text key that spots duplicates.

A headline's time is when *we received it* (never the publisher's claim), so a decision can use
exactly the headlines it could have known. Two headlines from the same source whose normalised
text is equal are the same story (re-posted, re-polled, re-sent after a reconnect).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

MAX_HEADLINE_CHARS = 500
_NOT_WORD = re.compile(r"[^\w]+")


def normalise_headline(text: str) -> str:
    """The duplicate key of a headline: NFKC, case-folded, punctuation and spacing removed."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(part for part in _NOT_WORD.split(folded) if part)


def clean_headline(text: str) -> str:
    """A headline as stored: one line, no surrounding spaces, at most 500 characters."""
    single = " ".join(text.split())
    return single[:MAX_HEADLINE_CHARS]


@dataclass(frozen=True, slots=True)
class Headline:
    """One received headline: where from, when we got it, its text, and what the source said."""

    source: str
    text: str
    received_at: datetime
    published_at: datetime | None = None
    link: str = ""

    @property
    def key(self) -> str:
        """The normalised text used for de-duplication (with the source)."""
        return normalise_headline(self.text)
