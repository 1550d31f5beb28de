"""Sweep in a process pool, walk-forward windows, Monte Carlo percentiles."""

from __future__ import annotations

import pytest

from bot.backtest.research import (
    best_point,
    monte_carlo,
    parameter_grid,
    sweep,
    walk_forward,
)
from bot.backtest.runner import run_backtest
from shared.config.backtest_request import BacktestRequest
from shared.domain.errors import ConfigError

BASE = BacktestRequest(bars=3000, strategy="rsi_macd_bracket", commission_usd=0,
                       slippage_ticks=0)
GRID = {"stop_atr": ["1.5", "3"]}


def test_parameter_grid_is_the_cartesian_product():
    assert parameter_grid({"b": ["1", "2"], "a": ["x"]}) == [
        {"a": "x", "b": "1"}, {"a": "x", "b": "2"}]
    with pytest.raises(ConfigError):
        parameter_grid({"a": []})


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


def test_walk_forward_chooses_on_train_and_stitches_the_tests():
    windows, equity = walk_forward(BASE, GRID, train_bars=1000, test_bars=500, workers=2)
    assert [(w.train, w.test) for w in windows] == [
        ((0, 1000), (1000, 1500)), ((500, 1500), (1500, 2000)), ((1000, 2000), (2000, 2500)),
        ((1500, 2500), (2500, 3000))]
    trades = [t for w in windows for t in w.test_trades]
    assert len(equity) == len(trades) > 0
    assert equity[-1][1] == 2_500_000 + sum(t.pnl_net_cents for t in trades)
    for window in windows:
        assert window.params in ({"stop_atr": "1.5"}, {"stop_atr": "3"})
        assert window.test_metrics["bars"] == 500
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
