"""The reference strategies through the backtester equal hand-written loops, trade by trade.

The loops below share no code with the engine: indicators are plain recursions over Python
floats (SMA in exact fractions), fills follow DESIGN §4a written out bar by bar. 1 contract,
no costs.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from bot.backtest import reference
from bot.backtest.data import file_data
from bot.core.strategies import REFERENCE_STRATEGIES
from bot.core.strategies.rsi_macd_bracket import RsiMacdBracketParams
from bot.core.strategies.sma_cross import SmaCrossParams
from shared.config.backtest_request import REFERENCE_STRATEGY_NAMES
from shared.domain.instruments import get_instrument
from shared.domain.models import Bar
from tests.bot.backtest.conftest import bar_data, minute_bars

MES = get_instrument("MES")
TICK = 0.25
TICK_CENTS = 125


def _sign(value: Fraction | float) -> int:
    return (value > 0) - (value < 0)


def hand_sma_cross(bars: list[Bar], fast: int = 10, slow: int = 30) -> list[tuple]:
    """Always in the market after the first cross; reverse at the next open."""
    trades, position, pending, previous = [], None, 0, 0
    closes = [Fraction(b.close) for b in bars]
    for t, bar in enumerate(bars):
        if pending:
            if position is not None:
                side, entry_ts, entry_price = position
                trades.append((entry_ts, bar.ts, side, entry_price, bar.open, "flatten"))
            position, pending = (pending, bar.ts, bar.open), 0
        sign = previous
        if t >= slow - 1:
            difference = sum(closes[t - fast + 1 : t + 1]) / fast - sum(
                closes[t - slow + 1 : t + 1]) / slow
            sign = _sign(difference) or previous
        if previous != 0 and sign != previous and t + 1 < len(bars):
            pending = sign
        previous = sign
    return trades


def _wilder(values: list[float], period: int) -> list[float]:
    out, average = [], 0.0
    for value in values:
        average += (value - average) / period
        out.append(average)
    return out


def _ema(values: list[float], span: int) -> list[float]:
    alpha, out, average = 2.0 / (span + 1), [], None
    for value in values:
        average = value if average is None else average + alpha * (value - average)
        out.append(average)
    return out


def _bracket_exit(bar: Bar, side: int, stop: float, target: float) -> tuple | None:
    """Gap through a level fills at the open; stop before target when both are touched."""
    if (bar.open - stop) * side <= 0:
        return bar.open, "stop"
    if (bar.open - target) * side >= 0:
        return bar.open, "target"
    if ((bar.low if side > 0 else bar.high) - stop) * side <= 0:
        return stop, "stop"
    if ((bar.high if side > 0 else bar.low) - target) * side >= 0:
        return target, "target"
    return None


def hand_rsi_macd_bracket(bars: list[Bar]) -> list[tuple]:
    """MACD(12,26,9) histogram cross + RSI(14) band, 2xATR(14) stop, 2x target, stop first."""
    closes = [b.close for b in bars]
    changes = [0.0] + [b - a for a, b in zip(closes, closes[1:], strict=False)]
    gains = _wilder([max(c, 0.0) for c in changes], 14)
    losses = _wilder([max(-c, 0.0) for c in changes], 14)
    rsi = [100.0 if lo == 0 else 100 - 100 / (1 + g / lo) for g, lo in zip(gains, losses,
                                                                            strict=True)]
    macd = [f - s for f, s in zip(_ema(closes, 12), _ema(closes, 26), strict=True)]
    signal = [None] * 25 + _ema(macd[25:], 9)
    hist = [None if t < 33 else macd[t] - signal[t] for t in range(len(bars))]
    ranges = [bars[0].high - bars[0].low] + [
        max(b.high - b.low, abs(b.high - a.close), abs(b.low - a.close))
        for a, b in zip(bars, bars[1:], strict=False)
    ]
    atr = [None] * len(bars)
    atr[13] = sum(ranges[:14]) / 14
    for t in range(14, len(bars)):
        atr[t] = (atr[t - 1] * 13 + ranges[t]) / 14

    trades, position, pending = [], None, None
    for t, bar in enumerate(bars):
        if pending is not None:
            side, stop, target = pending
            position, pending = (side, bar.ts, bar.open, stop, target), None
        if position is not None:
            side, entry_ts, entry_price, stop, target = position
            exit_ = _bracket_exit(bar, side, stop, target)
            if exit_ is not None:
                trades.append((entry_ts, bar.ts, side, entry_price, *exit_))
                position = None
        if position is None and t >= 100 and t + 1 < len(bars) and hist[t - 1] is not None:
            side = 0
            if hist[t - 1] <= 0 < hist[t] and 50 < rsi[t] < 70:
                side = 1
            elif hist[t - 1] >= 0 > hist[t] and 30 < rsi[t] < 50:
                side = -1
            if side:
                ticks = max(1, int(2 * atr[t] / TICK + 0.5))
                pending = (side, bar.close - side * ticks * TICK,
                           bar.close + side * 2 * ticks * TICK)
    return trades


def engine_trades(outcome) -> list[tuple]:
    return [
        (t.entry_ts, t.exit_ts, t.side.sign, t.entry_price, t.exit_price, t.exit_reason.value)
        for t in outcome.trades
    ]


def check_pnl(outcome) -> None:
    for t in outcome.trades:
        ticks = round((t.exit_price - t.entry_price) * t.side.sign / TICK)
        assert t.pnl_gross_cents == t.pnl_net_cents == ticks * TICK_CENTS


def test_sma_cross_equals_the_hand_loop_on_synthetic_minutes():
    bars = minute_bars(4000)
    outcome = reference.run_sma_cross(bar_data(bars), SmaCrossParams(), MES, 0, 0, 1)
    expected = hand_sma_cross(bars)
    assert len(expected) > 50
    assert engine_trades(outcome) == expected
    check_pnl(outcome)
    assert outcome.open_position is not None  # always in the market


def test_rsi_macd_bracket_equals_the_hand_loop_on_synthetic_minutes():
    bars = minute_bars(6000, seed=11)
    outcome = reference.run_rsi_macd_bracket(bar_data(bars), RsiMacdBracketParams(), MES, 0, 0,
                                             1)
    expected = hand_rsi_macd_bracket(bars)
    assert len(expected) > 50
    assert {reason for *_, reason in expected} == {"stop", "target"}
    assert engine_trades(outcome) == expected
    check_pnl(outcome)


def _real_bars(folder: Path, name: str, tz: str, count: int) -> list[Bar]:
    data = file_data(folder / name, tz, None, TICK)
    return [data.bar(i) for i in range(min(count, len(data)))]


@pytest.mark.parametrize(
    ("name", "tz"),
    [("ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv", "America/New_York"),
     ("ES_5min_ib_rth_2016-09-09_2017-11-09_et.csv", "America/New_York")],
)
def test_both_reference_strategies_equal_the_hand_loops_on_real_es_bars(shared_data, name, tz):
    bars = _real_bars(shared_data, name, tz, 5000)
    data = bar_data(bars, bar_seconds=60 if "1min" in name else 300)
    crosses = reference.run_sma_cross(data, SmaCrossParams(), MES, 0, 0, 1)
    assert engine_trades(crosses) == hand_sma_cross(bars)
    brackets = reference.run_rsi_macd_bracket(data, RsiMacdBracketParams(), MES, 0, 0, 1)
    expected = hand_rsi_macd_bracket(bars)
    assert len(expected) > 20
    assert engine_trades(brackets) == expected
    check_pnl(brackets)


def test_the_shared_list_of_reference_names_equals_the_registry():
    assert sorted(REFERENCE_STRATEGIES) == sorted(REFERENCE_STRATEGY_NAMES)
