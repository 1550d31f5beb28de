"""Which bars the live loop plays and how fast: synthetic or replay, real time or accelerated.

A restarted bot continues after the last journaled bar: the synthetic market resumes from that
bar's time and close; a replay skips what was already played. Pacing maps bar time to wall
time: real time follows the wall clock when the synthetic market starts "now"; otherwise bars
are spaced by ``bar_seconds / speed`` and session gaps collapse to one bar. A replay file's
malformed and duplicate rows are skipped by the loader and counted here, and rows out of time
order are counted (they are played sorted). A replay file that cannot be used at all raises
``DataFileError``; the bot exits 2 with its one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import dropwhile
from pathlib import Path

from bot.adapters.feeds.replay import iter_bar_objects, load_bars
from bot.adapters.feeds.synthetic import SyntheticMarket, resume_point
from shared.config.settings import FeedConfig
from shared.domain.errors import ConfigError
from shared.domain.models import Bar


@dataclass(frozen=True, slots=True)
class BarSource:
    """The bars to play, the rows a replay file had to skip and the rows it had out of order
    (each with example reasons)."""

    bars: Iterator[Bar]
    rows_skipped: int = 0
    problems: tuple[str, ...] = ()
    out_of_order: int = 0
    order_problems: tuple[str, ...] = ()


def open_bar_source(
    cfg: FeedConfig, last_bar: Bar | None, wall_now: Callable[[], datetime]
) -> BarSource:
    """Return the bars for ``cfg``, continuing after ``last_bar`` when given."""
    if cfg.source == "replay":
        if not cfg.replay_path.strip():
            raise ConfigError("feed.replay_path: empty; name the bar file for source replay")
        loaded = load_bars(Path(cfg.replay_path), timezone=cfg.replay_timezone)
        bars = iter_bar_objects(loaded.bars)
        if last_bar is not None:
            bars = dropwhile(lambda b: b.ts <= last_bar.ts, bars)
        skipped = loaded.malformed_skipped + loaded.duplicates_dropped
        return BarSource(bars, skipped, loaded.problems, loaded.out_of_order,
                         loaded.order_problems)
    if last_bar is not None:
        start, price, seed = resume_point(last_bar, cfg.seed, cfg.bar_seconds)
        if follows_wall_clock(cfg):  # no burst of bars for the time the bot was down
            start = max(start, wall_now())
        market = SyntheticMarket(seed, start, price, cfg.bar_seconds)
    else:
        start = cfg.start.astimezone(UTC) if cfg.start is not None else wall_now()
        market = SyntheticMarket(cfg.seed, start, cfg.start_price, cfg.bar_seconds)
    return BarSource(market.iter_bars())


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
        # A bar is due one (scaled) bar length after the previous one; the first one after
        # start-up likewise, as if it had formed while the bot was starting.
        self._due_s = (monotonic_s if self._due_s is None else self._due_s) + (
            self.bar_seconds / self.speed
        )
        return self._due_s
