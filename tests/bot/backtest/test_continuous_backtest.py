"""The backtester on a continuous series file: an unadjusted roll gap is a level shift the
quarantine flags and changes trades; the back-adjusted file trades exactly as the carry-free
prices (a constant per contract changes nothing the engine measures in points)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bot.backtest.continuous_build import adjusted_data, find_splices, write_series
from bot.backtest.data import synthetic_data
from bot.backtest.runner import run_backtest
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import Settings
from shared.domain.continuous import Adjustment, RollSplice

pytestmark = pytest.mark.unit

GAP_POINTS = 45.0
BARS = 30_000


def trades(path) -> tuple[list[tuple], dict]:
    result = run_backtest(BacktestRequest(data=str(path), commission_usd=0, slippage_ticks=0,
                                          params={"backtest.starting_equity_usd": "10000000"}))
    return ([(t.entry_ts, t.exit_ts, t.side.value, t.exit_price - t.entry_price)
             for t in result.trades], result.metrics)


def test_a_back_adjusted_roll_trades_as_the_carry_free_prices(tmp_path):
    true = synthetic_data(BARS, 11, 60, None)
    roll_at = BARS // 2
    offset = np.where(np.arange(BARS) >= roll_at, GAP_POINTS, 0.0)  # the new contract is higher
    front = replace(true, **{name: getattr(true, name) + offset
                             for name in ("open", "high", "low", "close")})
    old_close = float(front.close[roll_at - 1])
    rolls = [RollSplice(int(true.ts_ns[roll_at]), "MESH1", "MESM1", old_close,
                        old_close + GAP_POINTS)]
    adjusted = adjusted_data(front, rolls, Adjustment.BACK_ADJUSTED, 0.25)
    assert np.array_equal(adjusted.close, true.close + GAP_POINTS)
    settings = Settings()
    assert [s.roll for s in find_splices(front, rolls, settings)] == rolls
    assert find_splices(adjusted, rolls, settings) == []
    for name, data in (("true", true), ("front", front), ("adjusted", adjusted)):
        write_series(tmp_path / f"{name}.parquet", data)
    true_trades, _ = trades(tmp_path / "true.parquet")
    front_trades, front_metrics = trades(tmp_path / "front.parquet")
    adjusted_trades, adjusted_metrics = trades(tmp_path / "adjusted.parquet")
    assert true_trades and adjusted_trades == true_trades
    assert adjusted_metrics["level_shifts"] == 0 and adjusted_metrics["bars_quarantined"] == 0
    assert front_metrics["level_shifts"] == 1 and front_metrics["bars_quarantined"] >= 1
