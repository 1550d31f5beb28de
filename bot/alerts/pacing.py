"""Pacing a channel: a sliding-window rate limit, retry backoff, and splitting long texts."""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0


class RateLimiter:
    """At most ``per_minute`` sends in any 60-second window (retries count: the API sees them)."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._sent: deque[float] = deque()

    def wait_s(self) -> float:
        """Seconds until a send is allowed (0 = now)."""
        now = self._clock()
        while self._sent and now - self._sent[0] >= WINDOW_S:
            self._sent.popleft()
        if len(self._sent) < self.per_minute:
            return 0.0
        return self._sent[len(self._sent) - self.per_minute] + WINDOW_S - now

    def record(self) -> None:
        """Count one send now."""
        self._sent.append(self._clock())


def backoff_s(attempt: int, initial_s: float, max_s: float) -> float:
    """Wait before attempt ``attempt + 1``: initial, doubled per retry, capped."""
    return min(initial_s * 2 ** (attempt - 1), max_s)


TRUNCATED = "\n… (truncated)"


def sent_length_telegram(text: str) -> int:
    """Length of a text as Apprise sends it to Telegram: HTML-escaped, CRLF line ends."""
    return len(html.escape(text, quote=False).replace("\n", "\r\n"))


def _longest_prefix(text: str, room: int, measure: Callable[[str], int]) -> int:
    """The largest n with measure(text[:n]) <= room (measure grows with n)."""
    low, high = 0, min(len(text), room)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, max_chars: int, max_parts: int = 10,
               measure: Callable[[str], int] = len) -> list[str]:
    """Cut a text into parts whose ``measure`` is at most ``max_chars``, at line breaks if possible.

    Parts after the first are numbered ``(2/3)`` on their first line; the numbering is counted
    within the limit. A text that would need more than ``max_parts`` parts is truncated, and
    says so. ``measure`` is the length as the channel counts it (default: characters).
    """
    if measure(text) <= max_chars:
        return [text]
    room = max_chars - len("(99/99) ")
    if room < 2 * len(TRUNCATED) or not 1 <= max_parts <= 99:
        raise ValueError(f"max_chars {max_chars} / max_parts {max_parts} leave no room")
    chunks: list[str] = []
    rest = text
    while rest and len(chunks) <= max_parts:
        if measure(rest) <= room:
            chunks.append(rest)
            break
        fits = max(1, _longest_prefix(rest, room, measure))
        cut = rest.rfind("\n", 0, fits + 1)
        if cut <= fits // 2:  # no useful line break: cut hard
            chunks.append(rest[:fits])
            rest = rest[fits:]
        else:
            chunks.append(rest[:cut])
            rest = rest[cut + 1:]
    if len(chunks) > max_parts:
        chunks = chunks[:max_parts]
        last = chunks[-1]
        keep = _longest_prefix(last, room - measure(TRUNCATED), measure)
        chunks[-1] = last[:keep] + TRUNCATED
    total = len(chunks)
    return [chunk if i == 0 else f"({i + 1}/{total}) {chunk}" for i, chunk in enumerate(chunks)]
