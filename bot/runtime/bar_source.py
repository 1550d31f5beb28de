"""Which bars the live loop plays and how fast: synthetic or replay, real time or accelerated.

A restarted bot continues after the last journaled bar: the synthetic market resumes from that
bar's time and close; a replay skips what was already played. A first start (empty journal) of
a synthetic market that begins "now" (``feed.start`` empty) warm-starts: the market begins
``warm_start_bars`` bars earlier, and the bars that closed by now come back as ``history``
(for the charts and the indicators, never decided on). Pacing maps bar time to wall time: real
time follows the wall clock when the synthetic market starts "now"; otherwise bars are spaced by
``bar_seconds / speed`` and session gaps collapse to one bar. A replay file's malformed and
duplicate rows are skipped by the loader and counted here, and rows out of time order are
counted (they are played sorted). A replay file that cannot be used at all raises
``DataFileError``; the bot exits 2 with its one line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain, dropwhile
from pathlib import Path

from bot.adapters.feeds.globex_clock import history_start
from bot.adapters.feeds.replay import iter_bar_objects, load_bars
from bot.adapters.feeds.synthetic import SyntheticMarket, resume_point
from shared.config.settings import FeedConfig, Settings
from shared.domain.errors import ConfigError
from shared.domain.models import Bar


@dataclass(frozen=True, slots=True)
class BarSource:
    """The bars to play, bars of history before them (warm-up only), the rows a replay file
    had to skip and the rows it had out of order (each with example reasons)."""

    bars: Iterator[Bar]
    rows_skipped: int = 0
    problems: tuple[str, ...] = ()
    out_of_order: int = 0
    order_problems: tuple[str, ...] = ()
    history: tuple[Bar, ...] = ()


def warm_start_bars(settings: Settings) -> int:
    """Bars of history a first start plays before now: ``feed.warm_start_minutes`` worth, and
    at least a full indicator window; 0 when warm starts are off."""
    feed = settings.feed
    if feed.warm_start_minutes <= 0:
        return 0
    wanted = math.ceil(feed.warm_start_minutes * 60 / feed.bar_seconds)
    return max(wanted, settings.features.window_bars)


def open_bar_source(
    cfg: FeedConfig, last_bar: Bar | None, wall_now: Callable[[], datetime],
    history_bars: int = 0,
) -> BarSource:
    """Return the bars for ``cfg``, continuing after ``last_bar`` when given.

    ``history_bars`` > 0 warm-starts a first synthetic start that begins now (see above).
    """
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
        market = SyntheticMarket(seed, start, price, cfg.bar_seconds, always_open(cfg))
    elif cfg.start is None and history_bars > 0:
        return _warm_start(cfg, wall_now(), history_bars)
    else:
        start = cfg.start.astimezone(UTC) if cfg.start is not None else wall_now()
        market = SyntheticMarket(cfg.seed, start, cfg.start_price, cfg.bar_seconds,
                                 always_open(cfg))
    return BarSource(market.iter_bars())


def _warm_start(cfg: FeedConfig, now: datetime, history_bars: int) -> BarSource:
    """The market begun ``history_bars`` bars before ``now``: the bars closed by now as
    history, the rest (from the bar in progress on) to play."""
    start = history_start(now, history_bars, cfg.bar_seconds, always_open(cfg))
    bars = SyntheticMarket(cfg.seed, start, cfg.start_price, cfg.bar_seconds,
                           always_open(cfg)).iter_bars()
    bar_length = timedelta(seconds=cfg.bar_seconds)
    history = []
    for bar in bars:
        if bar.ts + bar_length > now:
            return BarSource(chain([bar], bars), history=tuple(history))
        history.append(bar)
    return BarSource(iter(()), history=tuple(history))  # an endless market never gets here


def always_open(cfg: FeedConfig) -> bool:
    """A practice market that starts now and is open around the clock
    (``feed.realtime_hours: always``); a synthetic market with a set start keeps the Globex
    hours, so backtests and replays of it never change."""
    return cfg.source == "synthetic" and cfg.start is None and cfg.realtime_hours == "always"


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
