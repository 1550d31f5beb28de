"""Which bars the live loop plays and how fast: synthetic or replay, real time or accelerated.

A restarted bot continues after the last journaled bar: the synthetic market resumes from that
bar's time and close; a replay skips what was already played. Pacing maps bar time to wall
time: real time follows the wall clock when the synthetic market starts "now"; otherwise bars
are spaced by ``bar_seconds / speed`` and session gaps collapse to one bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import dropwhile
from pathlib import Path

from bot.feeds.replay import iter_bar_objects, load_bars
from bot.feeds.synthetic import SyntheticMarket
from shared.config import FeedConfig
from shared.models import Bar


def open_bar_source(
    cfg: FeedConfig, last_bar: Bar | None, wall_now: Callable[[], datetime]
) -> Iterator[Bar]:
    """Return the bar iterator for ``cfg``, continuing after ``last_bar`` when given."""
    if cfg.source == "replay":
        loaded = load_bars(Path(cfg.replay_path), timezone=cfg.replay_timezone)
        bars = iter_bar_objects(loaded.bars)
        if last_bar is not None:
            bars = dropwhile(lambda b: b.ts <= last_bar.ts, bars)
        return bars
    if last_bar is not None:
        return SyntheticMarket.resumed(last_bar, cfg.seed, cfg.bar_seconds).iter_bars()
    start = cfg.start.astimezone(UTC) if cfg.start is not None else wall_now()
    return SyntheticMarket(cfg.seed, start, cfg.start_price, cfg.bar_seconds).iter_bars()


def follows_wall_clock(cfg: FeedConfig) -> bool:
    """Real-time synthetic trading: bars are released when the wall clock reaches their close."""
    return cfg.source == "synthetic" and cfg.start is None and cfg.speed == 1.0


@dataclass(slots=True)
class Pacer:
    """Tells how long to wait before a bar may be processed."""

    bar_seconds: int
    speed: float
    wall_clock: bool
    _due_s: float | None = None

    def due(self, bar: Bar, monotonic_s: float, wall_now: datetime) -> float:
        """Return the monotonic time at which ``bar`` is due."""
        bar_length = timedelta(seconds=self.bar_seconds)
        if self.wall_clock:
            wait_s = (bar.ts + bar_length - wall_now).total_seconds()
            return monotonic_s + max(0.0, wait_s)
        if self._due_s is None:
            self._due_s = monotonic_s
        else:
            self._due_s += self.bar_seconds / self.speed
        return self._due_s
