"""Which bars can change anything: the backtest skips the rest, provably without effect.

A bar is skipped only when the live engine would do nothing on it but journal a HOLD:
- flat with no working order, and no weighted strategy may fire or the regime filter cannot
  pass: each strategy's own ``may_fire`` and the regime's ``may_allow`` (necessary conditions
  kept beside the vote and the filter, so nothing here mirrors them) say so, and the real
  vote, regime and risk manager still decide on every other bar;
- flat while the risk manager refuses every entry until the next trading day (loss cap, trades
  per day, losses in a row, halt) or until a cooldown ends;
- or in a position with only its stop and target working, when the bar's range stays strictly
  between them and no position rule (disaster stop, time exit, a trailing move) can trigger.
Shadow brackets (entries memory refused) are advanced over skipped bars too, but only on the
bars where one may fill or exit (``next_shadow_event``); on the others they provably stay put.
Parity tests compare skipping with not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.vector_features import (
    FeatureTable,
    atr_ratio_margin,
    candidate_blocks,
    feature_columns,
)
from bot.core import regime
from bot.core.llm_attribution import ShadowBracket
from bot.core.risk import RiskState
from bot.core.strategies import may_any_fire
from shared.config.settings import RiskConfig, Settings
from shared.domain.instruments import Instrument
from shared.domain.models import Position

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entry_candidates(matrix: FeatureTable, settings: Settings) -> np.ndarray:
    """Indices of the bars on which the engine may decide an entry (see the module notes).

    The conditions are per bar, so they are read a block of rows at a time: their scratch
    arrays (derived columns, masks) stay the size of a block (a 1M-bar run peaked 40 MB
    higher reading whole columns).
    """
    margin = atr_ratio_margin(settings.features)
    found = []
    for start, stop in candidate_blocks(len(matrix)):
        columns = feature_columns(matrix, start, stop)
        allowed = regime.may_allow(columns, settings.regime, margin)
        found.append(np.flatnonzero(may_any_fire(columns, settings.strategies) & allowed)
                     + start)
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def next_position_event(
    data: BarData, start: int, position: Position, cfg: RiskConfig, instrument: Instrument,
) -> int | None:
    """First bar at or after ``start`` on which the open bracket or a position rule may act."""
    stop, target = position.stop_price, position.target_price
    if stop is None or target is None:
        return start
    sign = position.side.sign
    entry = position.entry_price
    bar_ns = data.bar_seconds * 1_000_000_000
    entry_ns = (position.entry_ts - EPOCH) // timedelta(microseconds=1) * 1000
    hold_ns = int(cfg.max_hold_minutes * 60e9) - 1_000_000  # 1 ms early: never late
    point_cents = instrument.point_value_usd * 100 * position.contracts
    disaster_points = cfg.disaster_stop_usd * 100 / point_cents - instrument.tick_size
    activation = cfg.trailing_activation_points - 1e-9
    length, block = len(data), 64
    while start < length:
        end = min(length, start + block)
        low, high = data.low[start:end], data.high[start:end]
        close = data.close[start:end]
        touched = (low <= stop) | (high >= target), (high >= stop) | (low <= target)
        event = touched[0] if sign > 0 else touched[1]
        event |= (entry - close) * sign >= disaster_points
        event |= data.ts_ns[start:end] + bar_ns - entry_ns >= hold_ns
        if cfg.trailing_stop_enabled:  # activated and the trailing level would beat the stop
            event |= ((close - entry) * sign >= activation) & (
                (close - sign * cfg.trailing_distance_points - stop) * sign > -1e-6
            )
        hits = np.flatnonzero(event)
        if len(hits):
            return start + int(hits[0])
        start, block = end, min(block * 4, 1 << 16)
    return None


def entries_blocked_until(
    data: BarData, start: int, state: RiskState, cfg: RiskConfig,
    trading_day: Callable[[datetime], date],
) -> int | None:
    """First bar from ``start`` on which the risk manager might accept an entry again.

    ``start`` itself when nothing blocks; None when entries stay blocked to the end (halt).
    """
    if state.halted:
        return None
    day_over = (
        state.realized_today_cents <= -round(cfg.daily_loss_limit_usd * 100)
        or state.entries_today >= cfg.max_trades_per_day
        or state.consecutive_losses >= cfg.max_consecutive_losses
    )
    if day_over and state.trading_day is not None:
        low, high = start, len(data)
        while low < high:  # trading days never go backwards: bisect for the next one
            middle = (low + high) // 2
            if trading_day(data.ts(middle)) > state.trading_day:
                high = middle
            else:
                low = middle + 1
        return low if low < len(data) else None
    if state.last_loss_ts is not None:
        ends = state.last_loss_ts + timedelta(minutes=cfg.cooldown_after_loss_minutes)
        ends_ns = (ends - EPOCH) // timedelta(microseconds=1) * 1000
        first_due = ends_ns - data.bar_seconds * 1_000_000_000 - 1_000_000
        found = int(np.searchsorted(data.ts_ns, first_due, side="left"))
        return max(start, found) if found < len(data) else None
    return start


def next_shadow_event(
    data: BarData, start: int, stop: int, shadows: Sequence[ShadowBracket], max_hold: timedelta,
) -> int:
    """First bar in [start, stop) on which a shadow bracket may enter or exit (else ``stop``).

    Mirrors ``ShadowBook``: an entry on the first bar it sees, then the stop or target touched,
    or the time exit (looked for 1 ms early, never late); no bar later than that is scanned.
    """
    if start >= stop or any(s.entry_ts is None for s in shadows):
        return min(start, stop)
    bar_ns = data.bar_seconds * 1_000_000_000
    hold_ns = max_hold // timedelta(microseconds=1) * 1000 - 1_000_000
    first = stop
    for shadow in shadows:
        entry_ns = (shadow.entry_ts - EPOCH) // timedelta(microseconds=1) * 1000  # type: ignore[operator]
        timed_out = int(np.searchsorted(data.ts_ns, entry_ns + hold_ns - bar_ns, side="left"))
        end = min(first, max(start, timed_out) + 1, stop)
        low, high = data.low[start:end], data.high[start:end]
        if shadow.side.sign > 0:
            touched = (low <= shadow.stop_price) | (high >= shadow.target_price)
        else:
            touched = (high >= shadow.stop_price) | (low <= shadow.target_price)
        hits = np.flatnonzero(touched)
        found = start + int(hits[0]) if len(hits) else max(start, timed_out)
        first = min(first, found)
    return first
