"""Sweep in a pool, walk-forward (windows closed at their ends, no look-ahead), Monte Carlo."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.backtest.data import BarData
from bot.backtest.runner import run_backtest
from bot.research.grid import parameter_grid
from bot.research.montecarlo import monte_carlo
from bot.research.sweep import best_point, sweep
from bot.research.walkforward import walk_forward, walk_forward_on_data
from shared.config.backtest_request import BacktestRequest
from shared.domain.errors import ConfigError
from shared.domain.models import Bar, ExitReason
from tests.bot.backtest.conftest import bar_data, minute_bars

BASE = BacktestRequest(bars=3000, strategy="rsi_macd_bracket", commission_usd=0,
                       slippage_ticks=0)
GRID = {"stop_atr": ["1.5", "3"]}


def test_parameter_grid_is_the_cartesian_product():
    assert parameter_grid({"b": ["1", "2"], "a": ["x"]}) == [
        {"a": "x", "b": "1"}, {"a": "x", "b": "2"}]
    with pytest.raises(ConfigError):
        parameter_grid({"a": []})


@pytest.mark.integration  # starts local worker processes
def test_sweep_runs_every_point_in_the_pool_with_progress():
    seen = []
    points = sweep(BASE, GRID, workers=2, progress=lambda done, total: seen.append((done, total)))
    assert [p.params for p in points] == [{"stop_atr": "1.5"}, {"stop_atr": "3"}]
    assert sorted(seen) == [(1, 2), (2, 2)]
    for point in points:  # the pool ran exactly what a direct run gives
        direct = run_backtest(BASE.model_copy(update={"params": point.params}))
        assert point.trades == direct.trades
        assert point.metrics["net_pnl_cents"] == direct.metrics["net_pnl_cents"]
    assert points[0].metrics["trades"] > points[1].metrics["trades"]
    best = best_point(points)
    assert best.metrics["net_pnl_cents"] == max(p.metrics["net_pnl_cents"] for p in points)


def test_a_sweep_with_a_bad_key_is_refused_before_any_run():
    with pytest.raises(ConfigError, match="nope"):
        sweep(BASE.model_copy(update={"strategy": None}), {"risk.nope": ["1"]})


@pytest.mark.integration  # starts local worker processes
def test_walk_forward_chooses_on_train_and_stitches_the_tests():
    result = walk_forward(BASE, GRID, train_bars=1000, test_bars=500, workers=2)
    windows = result.windows
    assert [(w.train, w.test) for w in windows] == [
        ((0, 1000), (1000, 1500)), ((500, 1500), (1500, 2000)), ((1000, 2000), (2000, 2500)),
        ((1500, 2500), (2500, 3000))]
    trades = [t for w in windows for t in w.test_trades]
    assert list(result.trades) == trades
    assert len(result.equity) == len(trades) > 0
    assert result.equity[-1][1] == 2_500_000 + sum(t.pnl_net_cents for t in trades)
    assert result.metrics["trades"] == len(trades)
    assert result.metrics["net_pnl_cents"] == sum(w.test_net_pnl_cents for w in windows)
    for window in windows:
        assert window.params in ({"stop_atr": "1.5"}, {"stop_atr": "3"})
        assert window.test_metrics["bars"] == 500
        assert window.test_metrics["net_pnl_cents"] == window.test_net_pnl_cents
    with pytest.raises(ConfigError, match="too few"):
        walk_forward(BASE, GRID, train_bars=3000, test_bars=500)


def test_monte_carlo_percentiles_of_final_pnl_and_drawdown():
    steady = monte_carlo([10, 10, 10], runs=200)
    assert set(steady.final_pnl_cents.values()) == {30.0}
    assert set(steady.max_drawdown_cents.values()) == {0.0}
    losing = monte_carlo([-100], runs=10)
    assert losing.final_pnl_cents[50] == -100 and losing.max_drawdown_cents[50] == -100
    mixed = monte_carlo([300, -100, -100, 50], runs=2000, seed=1)
    finals = list(mixed.final_pnl_cents.values())
    assert finals == sorted(finals) and finals[0] >= -400 and finals[-1] <= 1200
    assert mixed.final_pnl_cents[50] == pytest.approx(150, abs=150)
    assert all(value <= 0 for value in mixed.max_drawdown_cents.values())
    assert monte_carlo([300, -100], seed=3) == monte_carlo([300, -100], seed=3)


def _write_csv(path: Path, bars: list[Bar]) -> None:
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"{b.ts.isoformat()},{b.open!r},{b.high!r},{b.low!r},{b.close!r},{b.volume!r}"
              for b in bars]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.integration  # starts local worker processes
def test_walk_forward_closes_each_test_window_and_equals_plain_backtests_of_them(tmp_path):
    bars = minute_bars(3000, seed=3)
    path = tmp_path / "bars.csv"
    _write_csv(path, bars)
    base = BacktestRequest(data=str(path), strategy="sma_cross", commission_usd=0.62,
                           slippage_ticks=1)
    result = walk_forward(base, {"fast": ["5", "10"]}, train_bars=1000, test_bars=500,
                          workers=2)
    assert len(result.windows) == 4
    for window in result.windows:
        start, stop = window.test
        last = window.test_trades[-1]  # sma_cross is always in the market: open at the end
        assert last.exit_reason is ExitReason.END_OF_DATA
        assert last.exit_ts == bars[stop - 1].ts == window.test_span[1]
        assert last.exit_price == bars[stop - 1].close - last.side.sign * 0.25  # market exit
        assert last.commission_cents == 2 * 62
        ticks = round((last.exit_price - last.entry_price) * last.side.sign / 0.25)
        assert last.pnl_net_cents == ticks * 125 - 124
        assert all(t.exit_reason is not ExitReason.END_OF_DATA for t in window.test_trades[:-1])
        assert all(bars[start].ts <= t.entry_ts <= t.exit_ts <= bars[stop - 1].ts
                   for t in window.test_trades)
        # The same window as a plain backtest of the file with --start/--end (end exclusive).
        end = bars[stop].ts if stop < len(bars) else bars[-1].ts + timedelta(minutes=1)
        plain = run_backtest(base.model_copy(update={
            "params": window.params, "start": bars[start].ts.isoformat(),
            "end": end.isoformat()}))
        assert plain.trades == window.test_trades  # same trades, prices and cents
        assert plain.metrics["net_pnl_cents"] == window.test_net_pnl_cents
    stitched = [t for w in result.windows for t in w.test_trades]
    assert list(result.trades) == stitched
    assert result.metrics["net_pnl_cents"] == sum(t.pnl_net_cents for t in stitched)


def _without_timing(found: dict) -> str:
    """The metrics but their run time, as comparable text (NaN equals NaN there)."""
    kept = {k: v for k, v in found.items() if k not in ("seconds", "bars_per_second")}
    return json.dumps(kept, sort_keys=True)


@pytest.mark.integration  # starts local worker processes
def test_walk_forward_choices_depend_only_on_bars_before_each_test_window():
    data = bar_data(minute_bars(3000, seed=11))
    before = walk_forward_on_data(BASE, GRID, data, train_bars=1000, test_bars=500, workers=2)
    cut = before.windows[1].test[0]  # the second window's test bars and everything after
    rng = np.random.default_rng(5)
    steps = rng.choice([-1.0, 1.0], size=len(data) - cut) * 2.0  # a different, rougher path
    path = data.close[cut - 1] + np.cumsum(steps)
    changed = BarData(data.ts_ns, np.concatenate([data.open[:cut], path - steps]),
                      np.concatenate([data.high[:cut], np.maximum(path, path - steps) + 1]),
                      np.concatenate([data.low[:cut], np.minimum(path, path - steps) - 1]),
                      np.concatenate([data.close[:cut], path]), data.volume, 60)
    after = walk_forward_on_data(BASE, GRID, changed, train_bars=1000, test_bars=500,
                                 workers=2)
    for old, new in zip(before.windows[:2], after.windows[:2], strict=True):
        assert new.params == old.params
        assert _without_timing(new.train_metrics) == _without_timing(old.train_metrics)
    assert after.windows[0].test_trades == before.windows[0].test_trades
    assert after.windows[1].test_trades != before.windows[1].test_trades  # the change was seen
