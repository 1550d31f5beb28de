"""Which bars can change anything: the backtest skips the rest, provably without effect.

A bar is skipped only when the live engine would do nothing on it but journal a HOLD:
- flat with no working order, and no weighted strategy can fire or the regime filter cannot
  pass (each test below is a necessary condition of a BUY/SELL or of a tradable regime, so
  the real vote, regime and risk manager still decide);
- flat while the risk manager refuses every entry until the next trading day (loss cap, trades
  per day, losses in a row, halt) or until a cooldown ends;
- or in a position with only its stop and target working, when the bar's range stays strictly
  between them and no position rule (disaster stop, time exit, a trailing move) can trigger.
An unknown strategy never lets a bar be skipped. Parity tests compare skipping with not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.vector_features import FEATURE_COLUMNS, FeatureTable, column
from bot.core.risk import RiskState
from shared.config.settings import RegimeConfig, RiskConfig, StrategiesConfig
from shared.domain.instruments import Instrument
from shared.domain.models import Position

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RELATIVE_MARGIN = 1e-9  # features differ from the live window's by ~1e-15 relative


_RSI_MARGIN = 1e-6  # RSI points; RSI differs from the live window's by ~1e-13
_INDICATOR_COLUMNS = [
    column(name) for name in FEATURE_COLUMNS
    if name not in ("open", "high", "low", "close", "volume", "bars_in_window")
]


def _rsi_macd(matrix: FeatureTable, cfg: StrategiesConfig) -> np.ndarray:
    params = cfg.rsi_macd
    hist, prev = matrix[:, column("macd_hist")], matrix[:, column("macd_hist_prev")]
    rsi, macd = matrix[:, column("rsi")], matrix[:, column("macd")]
    midline = (params.oversold + params.overbought) / 2
    buy = (prev <= 0) & (hist > 0) & (macd > 0) & (rsi > midline - _RSI_MARGIN) & (
        rsi < params.overbought + _RSI_MARGIN
    )
    sell = (prev >= 0) & (hist < 0) & (macd < 0) & (rsi > params.oversold - _RSI_MARGIN) & (
        rsi < midline + _RSI_MARGIN
    )
    return buy | sell


def _turning(hist: np.ndarray, prev: np.ndarray, direction: int, tolerance: float
             ) -> np.ndarray:
    """The histogram turns toward ``direction`` or flattens within the tolerance."""
    move = direction * (hist - prev)
    depth = -direction * hist
    with np.errstate(divide="ignore", invalid="ignore"):
        flattening = (depth > 0) & (tolerance > 0) & (-move / depth < tolerance + 1e-9)
    return (move > 0) | flattening


def _momentum_reversal(matrix: FeatureTable, cfg: StrategiesConfig) -> np.ndarray:
    params = cfg.momentum_reversal
    excess = params.min_bollinger_excess
    percent_b = matrix[:, column("bollinger_percent")]
    rsi = matrix[:, column("rsi")]
    hist, prev = matrix[:, column("macd_hist")], matrix[:, column("macd_hist_prev")]
    tolerance = params.histogram_turn_tolerance
    buy = (percent_b < -excess + _RELATIVE_MARGIN) & (
        rsi < params.rsi_extreme_low + _RSI_MARGIN) & _turning(hist, prev, 1, tolerance)
    sell = (percent_b > 1 + excess - _RELATIVE_MARGIN) & (
        rsi > params.rsi_extreme_high - _RSI_MARGIN) & _turning(hist, prev, -1, tolerance)
    return buy | sell


def _breakout(matrix: FeatureTable, cfg: StrategiesConfig) -> np.ndarray:
    params = cfg.breakout
    body = np.abs(matrix[:, column("body_over_atr")])
    volume_z = matrix[:, column("volume_zscore")]
    close, open_ = matrix[:, column("close")], matrix[:, column("open")]
    direction = np.sign(close - open_)
    trend = direction * (matrix[:, column("ema_fast")] - matrix[:, column("ema_slow")]) > 0
    band = np.where(direction > 0, matrix[:, column("bollinger_upper")],
                    matrix[:, column("bollinger_lower")])
    confirmed = trend | (direction * (close - band) > 0)
    return confirmed & (direction != 0) & (
        body >= params.min_body_over_atr * (1 - _RELATIVE_MARGIN)) & (
        volume_z >= params.min_volume_zscore)


MAY_FIRE: dict[str, Callable[[FeatureTable, StrategiesConfig], np.ndarray]] = {
    "rsi_macd": _rsi_macd,
    "momentum_reversal": _momentum_reversal,
    "breakout": _breakout,
}


def regime_may_allow(matrix: FeatureTable, cfg: RegimeConfig) -> np.ndarray:
    """Bars whose indicators are warm and whose ATR passes the regime filter (session aside)."""
    warm = np.ones(len(matrix), dtype=bool)
    for position in _INDICATOR_COLUMNS:  # a column at a time: no copy of the whole table
        warm &= ~np.isnan(matrix[:, position])
    atr, baseline = matrix[:, column("atr_points")], matrix[:, column("atr_baseline_points")]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = atr / baseline
    low, high = 1 - _RELATIVE_MARGIN, 1 + _RELATIVE_MARGIN
    return warm & (baseline != 0) & (ratio >= cfg.min_atr_ratio * low) & (
        ratio <= cfg.max_atr_ratio * high) & (atr >= cfg.min_atr_points * low) & (
        atr <= cfg.max_atr_points * high)


def may_fire(matrix: FeatureTable, cfg: StrategiesConfig) -> np.ndarray:
    """Bars on which some strategy with a positive weight might vote BUY or SELL."""
    mask = np.zeros(len(matrix), dtype=bool)
    for name, weight in cfg.weights.items():
        if weight <= 0:
            continue
        test = MAY_FIRE.get(name)
        if test is None:
            return np.ones(len(matrix), dtype=bool)
        mask |= test(matrix, cfg)
    return mask


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
