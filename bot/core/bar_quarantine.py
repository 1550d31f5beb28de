"""The bad-print quarantine: a bar that cannot be a real print never reaches the engine.

Live and in backtests alike (DESIGN §4 rule 13), each bar goes through one ``BarQuarantine``
before the engine sees it. A quarantined bar is not decided on, not used to fill an order and
not fed to the indicators; the caller journals it as a ``bad_bar`` event with the reason.

A bar is quarantined when ``bar_problem`` refuses it (broken OHLC, a price that is not positive
or not finite, off the tick grid), when it is not after the last accepted bar, or when it jumps:
its open is more than ``feed.bad_print_gap_ranges``, or its high or low more than
``feed.bad_print_spike_ranges``, recent ranges from the last accepted close. The recent range
is the mean high-low (in ticks) of the last ``bad_print_window_bars`` accepted bars, at least
``bad_print_min_range_ticks``, times the square root of the bars elapsed since that close (a
session gap allows a bigger move). On the three real ES files (shared/data) the largest open
gap is 7 and the largest high/low excursion 42 recent ranges (a CPI release), so the defaults
of 15 and 80 quarantine none of their bars, while a print of 0.25 or 50000 is thousands away.

A jump the next ``bad_print_confirm_bars`` bars hold (each within the limits of the bar before
it, and still beyond them from the old close) is a level shift, e.g. a contract-roll splice:
the bar that confirms it is accepted with a ``level_shift`` event, so the move is flagged, never
silently traded through; the bars before it stay quarantined. A shift of more than
``MAX_LEVEL_SHIFT_FRACTION`` of the price is never confirmed (beyond the CME's 20 % limit-down,
no real print).

State is the last accepted bars only, all in integer ticks, so a restarted bot seeded with its
journaled bars is in the same state as a backtest that ran through them (a jump awaiting
confirmation at the moment of a restart is judged afresh). ``flag_columns`` is the same test
over whole columns, assuming every earlier bar was accepted: the backtester runs this object
only from the first bar it flags (``bot.backtest.quarantine``), and a test checks both agree.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np

from bot.core.bar_checks import bar_problem, sound_ticks
from shared.config.settings import FeedConfig
from shared.domain.models import Bar

BAD_BAR = "bad_bar"  # the event kind of a quarantined bar
LEVEL_SHIFT = "level_shift"  # the event kind of a confirmed jump (a roll splice?)
MAX_LEVEL_SHIFT_FRACTION = 0.2
NS_PER_SECOND = 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_GRID_TOLERANCE = 1e-7  # in ticks, stricter than bar_problem's: a column flag may only over-flag
_COLUMN_PRICE_CAP = 1e12  # a price beyond this is flagged in columns (the object judges it)


class QuarantineReason(StrEnum):
    """Why a bar was quarantined (the ``reason`` of its ``bad_bar`` event)."""

    MALFORMED = "malformed"  # bar_problem: OHLC, non-positive or non-finite, off the tick grid
    OUT_OF_ORDER = "out_of_order"  # not after the last accepted bar
    GAP = "gap"  # the open jumped from the last accepted close
    SPIKE = "spike"  # the high or the low jumped from the last accepted close


@dataclass(frozen=True, slots=True)
class JumpLimits:
    """The quarantine's limits (``feed.bad_print_*``), the tick and the bar length."""

    enabled: bool
    window_bars: int
    gap_ranges: float
    spike_ranges: float
    min_range_ticks: int
    confirm_bars: int
    tick_size: float
    bar_seconds: int

    @classmethod
    def from_config(cls, feed: FeedConfig, tick_size: float,
                    bar_seconds: int | None = None) -> JumpLimits:
        """The limits of ``feed`` for bars of ``bar_seconds`` (default ``feed.bar_seconds``)."""
        return cls(feed.bad_print_filter, feed.bad_print_window_bars, feed.bad_print_gap_ranges,
                   feed.bad_print_spike_ranges, feed.bad_print_min_range_ticks,
                   feed.bad_print_confirm_bars, tick_size, bar_seconds or feed.bar_seconds)


@dataclass(frozen=True, slots=True)
class BarVerdict:
    """What to do with one bar; ``event`` (``bad_bar``/``level_shift``) is to be journaled."""

    accepted: bool
    event: str | None = None
    reason: QuarantineReason | None = None
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


ACCEPTED = BarVerdict(True)


@dataclass(frozen=True, slots=True)
class QuarantineEvent:
    """A verdict worth journaling, at its bar's time (a backtest keeps these with its bars)."""

    ts: datetime
    kind: str
    message: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A jump awaiting confirmation: the old close it left, and the last bar that held it."""

    from_close: int
    first_ts: datetime
    close: int
    ns: int
    held: int


def ts_ns(ts: datetime) -> int:
    """Epoch nanoseconds of an aware datetime, exactly (no float)."""
    return (ts - _EPOCH) // _MICROSECOND * 1000


def jump_reason(
    ticks: tuple[int, int, int], ref_close: int, elapsed_ns: int, range_sum: int,
    range_count: int, limits: JumpLimits,
) -> QuarantineReason | None:
    """GAP or SPIKE when (open, high, low) in ticks jump from ``ref_close``, else None.

    ``flag_columns`` repeats these very operations on arrays; keep the two in step.
    """
    open_, high, low = ticks
    scale = max(range_sum / range_count, limits.min_range_ticks)
    elapsed_bars = elapsed_ns / (limits.bar_seconds * NS_PER_SECOND)
    unit = scale * math.sqrt(max(elapsed_bars, 1.0))
    if abs(open_ - ref_close) > limits.gap_ranges * unit:
        return QuarantineReason.GAP
    if max(abs(high - ref_close), abs(low - ref_close)) > limits.spike_ranges * unit:
        return QuarantineReason.SPIKE
    return None


class BarQuarantine:
    """Judges each incoming bar against the last accepted ones (explicit, small state)."""

    def __init__(self, limits: JumpLimits) -> None:
        self.limits = limits
        self._ranges: deque[int] = deque(maxlen=limits.window_bars)
        self._range_sum = 0
        self._ref_close: int | None = None
        self._ref_ns = 0
        self._ref_ts: datetime | None = None
        self._pending: _Pending | None = None

    @property
    def awaiting_confirmation(self) -> bool:
        """Whether a jump is being held to see if the next bars confirm it."""
        return self._pending is not None

    def seed(self, bars: Iterable[Bar]) -> None:
        """Take already accepted bars (the journal's, on restart) as history, unchecked."""
        for bar in bars:
            self._accept(bar, self._ticks(bar))

    def check(self, bar: Bar) -> BarVerdict:
        """Accept ``bar`` (updating the state) or say why it is quarantined."""
        ticks = sound_ticks(bar, self.limits.tick_size)  # a feed's every bar: checked at once
        if ticks is None:
            problem = bar_problem(bar, self.limits.tick_size)
            if problem is not None:
                return BarVerdict(False, BAD_BAR, QuarantineReason.MALFORMED, problem,
                                  {"reason": QuarantineReason.MALFORMED.value})
        if self._ref_ts is not None and bar.ts <= self._ref_ts:
            return BarVerdict(False, BAD_BAR, QuarantineReason.OUT_OF_ORDER,
                              f"bar at {bar.ts.isoformat()} is not after the last bar "
                              f"{self._ref_ts.isoformat()}",
                              {"reason": QuarantineReason.OUT_OF_ORDER.value})
        if ticks is None:
            ticks = self._ticks(bar)
        if not self.limits.enabled or self._ref_close is None:
            self._accept(bar, ticks)
            return ACCEPTED
        now_ns = ts_ns(bar.ts)
        reason = self._jump(ticks, self._ref_close, now_ns - self._ref_ns)
        if reason is None:
            self._pending = None  # a jump the bar did not hold stays quarantined
            self._accept(bar, ticks, now_ns)
            return ACCEPTED
        return self._judge_jump(bar, ticks, now_ns, reason)

    # --- internals --------------------------------------------------------------------------

    def _judge_jump(self, bar: Bar, ticks: tuple[int, int, int, int], now_ns: int,
                    reason: QuarantineReason) -> BarVerdict:
        pending = self._pending
        old_close = self._ref_close if self._ref_close is not None else ticks[3]
        holds = pending is not None and self._jump(ticks, pending.close,
                                                   now_ns - pending.ns) is None
        if pending is None or not holds:
            pending = _Pending(old_close, bar.ts, ticks[3], now_ns, 0)
            self._pending = pending
            return self._quarantined(bar, ticks, reason, pending)
        pending = _Pending(pending.from_close, pending.first_ts, ticks[3], now_ns,
                           pending.held + 1)
        shift = abs(ticks[3] - pending.from_close)
        if pending.held < self.limits.confirm_bars or (
                shift > MAX_LEVEL_SHIFT_FRACTION * pending.from_close):
            self._pending = pending
            return self._quarantined(bar, ticks, reason, pending)
        self._pending = None
        self._accept(bar, ticks, now_ns)
        return self._level_shift(bar, pending)

    def _jump(self, ticks: tuple[int, int, int, int], ref_close: int,
              elapsed_ns: int) -> QuarantineReason | None:
        return jump_reason(ticks[:3], ref_close, elapsed_ns, self._range_sum, len(self._ranges),
                           self.limits)

    def _ticks(self, bar: Bar) -> tuple[int, int, int, int]:
        tick = self.limits.tick_size
        return (round(bar.open / tick), round(bar.high / tick), round(bar.low / tick),
                round(bar.close / tick))

    def _accept(self, bar: Bar, ticks: tuple[int, int, int, int], bar_ns: int | None = None
                ) -> None:
        """Take ``bar`` as the last accepted one (``bar_ns``: its ``ts_ns``, when known)."""
        if len(self._ranges) == self._ranges.maxlen:
            self._range_sum -= self._ranges[0]
        span = ticks[1] - ticks[2]
        self._ranges.append(span)
        self._range_sum += span
        self._ref_close, self._ref_ts = ticks[3], bar.ts
        self._ref_ns = ts_ns(bar.ts) if bar_ns is None else bar_ns

    def _scale_points(self) -> float:
        count = len(self._ranges)
        mean = self._range_sum / count if count else 0.0
        return max(mean, self.limits.min_range_ticks) * self.limits.tick_size

    def _quarantined(self, bar: Bar, ticks: tuple[int, int, int, int],
                     reason: QuarantineReason, pending: _Pending) -> BarVerdict:
        tick, limits = self.limits.tick_size, self.limits
        last = pending.from_close * tick
        if reason is QuarantineReason.GAP:
            what, value, multiple = "open", bar.open, limits.gap_ranges
        else:
            far_high = abs(ticks[1] - pending.from_close) >= abs(ticks[2] - pending.from_close)
            what, value = ("high", bar.high) if far_high else ("low", bar.low)
            multiple = limits.spike_ranges
        scale = self._scale_points()
        waiting = (f"; held {pending.held} of {limits.confirm_bars} bars a level shift needs"
                   if pending.held else "")
        message = (f"quarantined bar at {bar.ts.isoformat()}: {what} {value:g} is "
                   f"{abs(value - last):g} points from the last close {last:g}, beyond "
                   f"{multiple:g} recent ranges of {scale:.2f} points{waiting}; not traded, "
                   "not filled, not fed to the indicators")
        detail = {"reason": reason.value, "open": bar.open, "high": bar.high, "low": bar.low,
                  "close": bar.close, "last_close": last, "recent_range_points": scale,
                  "held_bars": pending.held}
        return BarVerdict(False, BAD_BAR, reason, message, detail)

    def _level_shift(self, bar: Bar, pending: _Pending) -> BarVerdict:
        tick = self.limits.tick_size
        old, new = pending.from_close * tick, bar.close
        message = (f"level shift from {old:g} to {new:g} ({new - old:+g} points) since "
                   f"{pending.first_ts.isoformat()}, held {pending.held} bars: accepted from "
                   f"{bar.ts.isoformat()} (a contract roll splice, or a real gap); the bars "
                   "before it were quarantined")
        detail = {"from_close": old, "to_close": new, "points": new - old,
                  "since": pending.first_ts.isoformat(), "held_bars": pending.held}
        return BarVerdict(True, LEVEL_SHIFT, None, message, detail)


def flag_columns(
    ts: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
    volume: np.ndarray, limits: JumpLimits,
) -> np.ndarray:
    """Bars ``BarQuarantine.check`` might not plainly accept had every earlier bar been accepted.

    It may flag more (never fewer): the backtester runs the object from each flagged bar.
    ``ts`` is epoch nanoseconds.
    """
    count = len(ts)
    flags = ~np.isfinite(volume) | (volume < 0)
    o, h, lo, c = (_column_ticks(column, limits.tick_size, flags)
                   for column in (open_, high, low, close))
    flags |= (high < low) | (open_ < low) | (open_ > high) | (close < low) | (close > high)
    if count < 2:
        return flags
    flags[1:] |= ts[1:] <= ts[:-1]
    if not limits.enabled:
        return flags
    spans = np.concatenate([[0], np.cumsum(h - lo)])
    index = np.arange(1, count)
    start = np.maximum(index - limits.window_bars, 0)
    scale = np.maximum((spans[index] - spans[start]) / (index - start), limits.min_range_ticks)
    elapsed = (ts[1:] - ts[:-1]) / (limits.bar_seconds * NS_PER_SECOND)
    unit = scale * np.sqrt(np.maximum(elapsed, 1.0))
    ref = c[:-1]
    flags[1:] |= np.abs(o[1:] - ref) > limits.gap_ranges * unit
    flags[1:] |= np.maximum(np.abs(h[1:] - ref), np.abs(lo[1:] - ref)) > limits.spike_ranges * unit
    return flags


def _column_ticks(column: np.ndarray, tick_size: float, flags: np.ndarray) -> np.ndarray:
    """A price column in whole ticks; flags the rows not finite, not positive or off the grid
    (one column of scratch arrays at a time: a backtest may hold millions of bars)."""
    sane = np.isfinite(column) & (column < _COLUMN_PRICE_CAP)  # int64 ticks cannot overflow
    flags |= ~sane
    safe = np.where(sane, column, 1.0)
    flags |= safe <= 0
    exact = safe / tick_size
    ticks = np.rint(exact)
    flags |= np.abs(exact - ticks) > _GRID_TOLERANCE
    return ticks.astype(np.int64)
