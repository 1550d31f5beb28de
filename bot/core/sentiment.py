"""The rolling sentiment feature: recency-weighted headline scores, neutral 0 without news.

At time t, every headline received at or before t with score s_i in [-1, 1] weighs
w_i = 2^(-(t - t_i) / half_life). The feature is

    sentiment(t) = sum(w_i * s_i) / max(1, sum(w_i))

So a lone headline decays exactly with the half-life (s at receipt, s/2 one half-life later),
and a burst of headlines is their weighted mean (never beyond [-1, 1]). Headlines older than
``CUTOFF_HALF_LIVES`` half-lives (weight < 0.001) are ignored, so with no news it is exactly 0.

Pure and order-free: the value depends only on t, the half-life and the set of headlines (kept
sorted by time, then score), never on when or in which order they were added, so the live loop
(adding rows as they are scored) and a backtest (adding a whole CSV up front) agree bit for bit.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

CUTOFF_HALF_LIVES = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US_PER_MINUTE = 60_000_000


def epoch_us(ts: datetime) -> int:
    """Microseconds since the epoch (exact integer arithmetic for ages)."""
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class HeadlineScore:
    """One scored headline: when it was received, its score, and a key that makes it unique."""

    received_at: datetime
    score: float
    key: Hashable


class SentimentBook:
    """The scored headlines known so far, queried for the feature at any time."""

    def __init__(self) -> None:
        self._items: list[tuple[int, float]] = []
        self._keys: set[Hashable] = set()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, headlines: Iterable[HeadlineScore]) -> int:
        """Add headlines not seen before (by key); return how many were new."""
        added = 0
        for item in headlines:
            if item.key in self._keys:
                continue
            self._keys.add(item.key)
            score = float(item.score)
            score = 0.0 if math.isnan(score) else min(1.0, max(-1.0, score))  # NaN: no opinion
            bisect.insort(self._items, (epoch_us(item.received_at), score))
            added += 1
        return added

    def at(self, ts: datetime, half_life_minutes: float) -> float:
        """The feature at ``ts`` from headlines received at or before ``ts``."""
        if not self._items:  # no headline yet (most of a live day): neutral, nothing to weigh
            return 0.0
        now_us = epoch_us(ts)
        half_life_us = half_life_minutes * _US_PER_MINUTE
        oldest_us = now_us - int(CUTOFF_HALF_LIVES * half_life_us)
        start = bisect.bisect_left(self._items, (oldest_us, -2.0))
        stop = bisect.bisect_right(self._items, (now_us, 2.0))
        weighted = total = 0.0
        for received_us, score in self._items[start:stop]:
            weight = 2.0 ** (-(now_us - received_us) / half_life_us)
            weighted += weight * score
            total += weight
        if total == 0.0:
            return 0.0
        return weighted / max(1.0, total)

    def count_within(self, ts: datetime, minutes: float) -> int:
        """How many headlines were received in the ``minutes`` up to and including ``ts``."""
        now_us = epoch_us(ts)
        start = bisect.bisect_left(self._items, (now_us - int(minutes * _US_PER_MINUTE), -2.0))
        return max(0, bisect.bisect_right(self._items, (now_us, 2.0)) - start)


