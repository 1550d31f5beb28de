"""Every position is accounted for: closed at the end of the data, or flattened at ruin."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.backtest import reference
from bot.backtest.engine_run import RunOutcome
from bot.backtest.runner import build_settings, load_data, run_backtest, trading_days
from bot.backtest.settle import Costs, settle
from bot.core.strategies.sma_cross import SmaCrossParams
from shared.config.backtest_request import BacktestRequest
from shared.domain.instruments import get_instrument
from shared.domain.models import Bar, ExitReason, Position, Side
from tests.bot.backtest.conftest import bar_data, minute_bars

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
MES = get_instrument("MES")
COSTS = Costs(MES, commission_cents=62, slippage_ticks=1)


def falling(count: int, top: float = 5000.0) -> list[Bar]:
    """One point lower each minute; opens a quarter point above the previous close."""
    bars = []
    for i in range(count):
        close = top - i
        bars.append(Bar(T0 + timedelta(minutes=i), close + 0.75, close + 1, close - 0.25,
                        close, 10))
    return bars


def long_from(bars: list[Bar], index: int) -> Position:
    return Position(symbol="MES", side=Side.LONG, contracts=1, entry_price=bars[index].open,
                    entry_ts=bars[index].ts, bracket_id="B1", stop_price=None,
                    target_price=None, entry_commission_cents=62)


def test_a_position_open_at_the_end_is_closed_at_the_last_close_with_costs():
    bars = falling(10)
    outcome = RunOutcome((), long_from(bars, 2), 10, 10, open_labels={"trend": "down"})
    settled = settle(outcome, bar_data(bars), COSTS, 2_500_000, 0)
    (trade,) = settled.trades
    assert settled.stopped_reason is None and settled.last_index == 9
    assert (trade.exit_reason, trade.exit_ts) == (ExitReason.END_OF_DATA, bars[9].ts)
    assert trade.exit_price == bars[9].close - 0.25  # a market sell pays one tick
    assert trade.entry_price == 4998.75 and trade.exit_price == 4990.75
    assert trade.pnl_gross_cents == -32 * 125
    assert trade.commission_cents == 124 and trade.pnl_net_cents == -32 * 125 - 124
    assert trade.labels == {"trend": "down"}


def test_equity_at_or_below_the_ruin_level_flattens_at_the_next_open_and_stops():
    bars = falling(12)
    # $20 account, long 1 MES from the open of bar 1 (4999.75): at the close of bar i the
    # equity is 2000 - 62 + 500 * (close - 4999.75) cents; bar 5 (close 4995) is the first
    # at or below 0: 1938 - 500 * 4.75 = -437.
    outcome = RunOutcome((), long_from(bars, 1), 12, 12)
    settled = settle(outcome, bar_data(bars), COSTS, 2000, 0)
    (trade,) = settled.trades
    assert trade.exit_reason is ExitReason.RUIN_STOP
    assert (trade.exit_ts, trade.exit_price) == (bars[6].ts, bars[6].open - 0.25)
    assert settled.last_index == 6 and settled.stopped_at == bars[5].ts
    assert settled.stopped_reason == (
        "ruined at 2025-03-04 15:05 UTC: equity $-4.37 at or below $0.00 "
        "(backtest.ruin_equity_usd); position flattened, no entries after it")
    higher = settle(outcome, bar_data(bars), COSTS, 2000, 1000)  # ruin level $10
    assert higher.stopped_at == bars[3].ts  # 1938 - 500 * 2.75 = 563 <= 1000


def test_a_ruin_stop_keeps_every_trade_closed_before_it_and_nothing_after():
    data = bar_data(minute_bars(3000))
    outcome = reference.run_sma_cross(data, SmaCrossParams(), MES, 62, 1, 1)
    assert len(outcome.trades) > 10
    whole = settle(outcome, data, COSTS, 10**9, 0)
    assert list(whole.trades[:-1]) == list(outcome.trades)  # the end changes no earlier trade
    realized = np.cumsum([t.pnl_net_cents for t in outcome.trades])
    assert realized.min() < 0
    settled = settle(outcome, data, COSTS, int(-realized.min()) // 2 + 1, 0)
    assert settled.stopped_at is not None
    last = settled.trades[-1]
    kept = settled.trades[:-1]
    assert 0 < len(kept) < len(outcome.trades)
    assert list(kept) == list(outcome.trades[: len(kept)])
    assert last.exit_reason is ExitReason.RUIN_STOP and last.exit_ts > settled.stopped_at
    assert last.entry_ts <= settled.stopped_at
    assert all(t.exit_ts <= settled.stopped_at for t in kept)


def test_a_losing_run_with_a_tiny_account_stops_at_ruin_and_reports_it():
    request = BacktestRequest(bars=20_000, seed=7, strategy="sma_cross", commission_usd=1.0,
                              params={"backtest.starting_equity_usd": "300"})
    result = run_backtest(request)
    assert result.stopped_reason is not None and result.stopped_reason.startswith("ruined at ")
    assert "at or below $0.00" in result.stopped_reason
    m = result.metrics
    assert m["stopped_reason"] == result.stopped_reason and m["stopped_at"]
    stopped_at = datetime.fromisoformat(m["stopped_at"])
    assert result.trades[-1].exit_reason is ExitReason.RUIN_STOP
    assert all(t.entry_ts <= stopped_at for t in result.trades)
    assert m["ending_equity_cents"] == 30_000 + sum(t.pnl_net_cents for t in result.trades)
    assert -1000 < m["ending_equity_cents"] <= 0  # stopped at the crossing, not far past it
    for name in ("sharpe", "sortino", "return_pct", "max_drawdown_pct", "win_rate"):
        assert math.isfinite(m[name]), (name, m["undefined"].get(name))
    assert m["undefined"] == {}
    every_day = trading_days(load_data(request, build_settings(request)))
    assert m["trading_days"] < len(every_day)  # the days traded, not the days after ruin


def test_metrics_that_cannot_be_computed_say_why():
    request = BacktestRequest(bars=300, strategy="sma_cross")
    m = run_backtest(request).metrics
    for name, value in m.items():
        if isinstance(value, float) and not math.isfinite(value):
            assert m["undefined"][name]
    assert m["undefined"]["sharpe"] == "needs two or more trading days, has 1"
