"""Session levels ES day traders watch, from the bars and the CME session clock.

Per trading day (the CME session, 17:00 CT the day before to the halt; ``CmeSessionClock``):

- ``session_vwap``: the volume-weighted typical price ((high + low + close) / 3) of the
  trading day's bars so far, from the Globex open (RTH-only data: from the RTH open); NaN
  until some volume traded.
- ``opening_range_high`` / ``_low``: the high and low of the RTH bars starting in the first
  ``opening_range_minutes`` after the 08:30 CT open, known from the bar that closes the range
  on (NaN before, and on days without RTH).
- ``prior_day_high`` / ``_low`` / ``_close``: the RTH high, low and last close of the latest
  earlier trading day that had RTH bars.
- ``overnight_high`` / ``_low``: the high and low of the trading day's bars before the RTH open
  (running until it, then fixed; all the day's bars on a day without RTH).

Everything is known at the bar's close: no level looks ahead. ``SessionLevelTracker`` updates
them per bar in O(1) (the live loop); ``session_level_columns`` computes every bar's at once
(the backtester); the two agree bit for bit (a test checks every bar of the real files).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from shared.config.settings import Settings
from shared.domain.models import Features

if TYPE_CHECKING:  # the session calendar (exchange_calendars) loads only where a clock is built
    from bot.core.sessions import CmeSessionClock, SessionEdges

NAN = float("nan")
LEVEL_NAMES: tuple[str, ...] = (
    "session_vwap", "opening_range_high", "opening_range_low", "prior_day_high",
    "prior_day_low", "prior_day_close", "overnight_high", "overnight_low",
)
# The levels relative to price: (close - level) / ATR, named as memory and the LLM read them.
RELATIVE_NAMES: tuple[str, ...] = (
    "vwap_over_atr", "or_high_over_atr", "or_low_over_atr", "prior_high_over_atr",
    "prior_low_over_atr", "prior_close_over_atr", "overnight_high_over_atr",
    "overnight_low_over_atr",
)
NO_LEVELS: tuple[float, ...] = (NAN,) * len(LEVEL_NAMES)


@dataclass(frozen=True, slots=True)
class LevelRules:
    """How the levels are cut: the opening range's length and the bars' length."""

    opening_range_minutes: int
    bar_seconds: int


def levels_over_atr(features: Features) -> tuple[float, ...]:
    """(close - level) / ATR for each level in ``LEVEL_NAMES`` order (NaN when unknown)."""
    atr = features.atr_points
    if not (math.isfinite(atr) and atr > 0.0):
        return NO_LEVELS
    close = features.close
    return tuple((close - getattr(features, name)) / atr for name in LEVEL_NAMES)


class SessionLevelTracker:
    """The levels, updated bar by bar; ``levels()`` gives the newest bar's in ``LEVEL_NAMES``
    order. Bars must come in time order (``BarWindow`` checks that before)."""

    __slots__ = ("_clock", "_day", "_levels", "_or_end_s", "_or_high", "_or_low",
                 "_overnight", "_prior", "_rth", "_rules", "_volume", "_weighted")

    def __init__(self, clock: CmeSessionClock, rules: LevelRules) -> None:
        self._clock = clock
        self._rules = rules
        self._day: SessionEdges | None = None
        self._or_end_s = NAN
        self._prior = (NAN, NAN, NAN)
        self._levels = NO_LEVELS
        self._start_day()

    def _start_day(self) -> None:
        self._weighted = 0.0
        self._volume = 0.0
        self._or_high, self._or_low = -math.inf, math.inf
        self._overnight = [-math.inf, math.inf]
        self._rth: list[float] | None = None  # high, low, last close of the day's RTH bars

    def _enter(self, epoch_s: float) -> SessionEdges:
        """The trading day of ``epoch_s``; a new day moves the finished day's RTH to prior."""
        day = self._day
        if day is not None and day.start_s <= epoch_s < day.end_s:
            return day
        if self._rth is not None:
            self._prior = (self._rth[0], self._rth[1], self._rth[2])
        self._start_day()
        day = self._clock.edges_at(epoch_s)
        self._day = day
        self._or_end_s = day.rth_open_s + 60.0 * self._rules.opening_range_minutes
        return day

    def update(self, epoch_s: float, high: float, low: float, close: float, volume: float
               ) -> tuple[float, ...]:
        """Take a bar (its start time in epoch seconds); return the levels at its close."""
        day = self._enter(epoch_s)
        self._weighted = self._weighted + (high + low + close) / 3.0 * volume
        self._volume = self._volume + volume
        vwap = self._weighted / self._volume if self._volume > 0.0 else NAN
        if day.is_rth(epoch_s):
            rth = self._rth
            if rth is None:
                self._rth = [high, low, close]
            else:
                rth[0], rth[1], rth[2] = max(rth[0], high), min(rth[1], low), close
            if epoch_s < self._or_end_s:
                self._or_high, self._or_low = max(self._or_high, high), min(self._or_low, low)
        elif not day.cash or epoch_s < day.rth_open_s:
            overnight = self._overnight
            overnight[0], overnight[1] = max(overnight[0], high), min(overnight[1], low)
        formed = (day.cash and epoch_s + self._rules.bar_seconds >= self._or_end_s
                  and self._or_high != -math.inf)
        overnight_high, overnight_low = self._overnight
        known = overnight_high != -math.inf
        self._levels = (
            vwap, self._or_high if formed else NAN, self._or_low if formed else NAN,
            *self._prior, overnight_high if known else NAN, overnight_low if known else NAN,
        )
        return self._levels

    def levels(self) -> tuple[float, ...]:
        """The newest bar's levels (all NaN before the first bar)."""
        return self._levels


def session_level_columns(
    epoch_s: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
    volume: np.ndarray, clock: CmeSessionClock, rules: LevelRules,
) -> dict[str, np.ndarray]:
    """Every bar's levels by name, equal bit for bit to ``SessionLevelTracker``'s."""
    count = len(close)
    out = {name: np.full(count, NAN) for name in LEVEL_NAMES}
    days = clock.day_indices(epoch_s)
    if count and days.min() < 0:
        raise ValueError("a bar lies outside the session calendar")
    starts = np.flatnonzero(np.diff(days, prepend=-2))
    ends = np.append(starts[1:], count)
    prior = (NAN, NAN, NAN)
    for begin, stop in zip(starts.tolist(), ends.tolist(), strict=True):
        day = clock.edges_of_index(int(days[begin]))
        prior = _fill_day(out, slice(begin, stop), day, prior,
                          (epoch_s, high, low, close, volume), rules)
    return out


def _running(values: np.ndarray, mask: np.ndarray, largest: bool) -> np.ndarray:
    """Running max (or min) of ``values`` over the masked bars; NaN before the first one."""
    blank = -np.inf if largest else np.inf
    masked = np.where(mask, values, blank)
    running = (np.maximum if largest else np.minimum).accumulate(masked)
    running[running == blank] = NAN
    return running


def _fill_day(
    out: dict[str, np.ndarray], part: slice, day: SessionEdges,
    prior: tuple[float, float, float], bars: tuple[np.ndarray, ...], rules: LevelRules,
) -> tuple[float, float, float]:
    """Write one trading day's levels into ``out``; return the prior levels for the next day."""
    epoch, high, low, close, volume = (values[part] for values in bars)
    weighted = np.cumsum((high + low + close) / 3.0 * volume)
    volumes = np.cumsum(volume)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["session_vwap"][part] = np.where(volumes > 0.0, weighted / volumes, NAN)
    rth = (day.cash & (day.rth_open_s <= epoch) & (epoch < day.rth_end_s)
           & (day.open_s <= epoch) & (epoch < day.halt_s))
    or_end = day.rth_open_s + 60.0 * rules.opening_range_minutes
    in_range = rth & (epoch < or_end)
    formed = day.cash & (epoch + rules.bar_seconds >= or_end)
    for name, largest, values in (("opening_range_high", True, high),
                                  ("opening_range_low", False, low)):
        running = _running(values, in_range, largest)
        out[name][part] = np.where(formed, running, NAN)
    overnight = ~rth & ((not day.cash) | (epoch < day.rth_open_s))
    out["overnight_high"][part] = _running(high, overnight, True)
    out["overnight_low"][part] = _running(low, overnight, False)
    for name, value in zip(("prior_day_high", "prior_day_low", "prior_day_close"), prior,
                           strict=True):
        out[name][part] = value
    if not rth.any():
        return prior
    return float(high[rth].max()), float(low[rth].min()), float(close[rth][-1])


def level_rules(settings: Settings) -> LevelRules:
    """The level rules of a config: its opening range and bar length."""
    return LevelRules(settings.features.opening_range_minutes, settings.feed.bar_seconds)


def session_tracker(clock: CmeSessionClock, settings: Settings) -> SessionLevelTracker:
    """A tracker cutting the levels as ``settings`` say."""
    return SessionLevelTracker(clock, level_rules(settings))


# Bars from the previous trading day's RTH open to the end of the current day: 08:30 CT to
# 16:00 CT the next day less the daily halt, 30.5 hours of trading, rounded up.
LOOKBACK_HOURS = 32.0


def warmup_bars(settings: Settings) -> int:
    """Bars a restart replays so the levels (prior day included) are as if never stopped: the
    indicator window, or ``LOOKBACK_HOURS`` of bars when longer. A previous trading day
    without RTH (the NYSE shut, CME open) needs more; its prior levels then stay unknown."""
    return max(settings.features.window_bars,
               math.ceil(LOOKBACK_HOURS * 3600 / settings.feed.bar_seconds))
