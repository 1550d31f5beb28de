"""Research tools on top of the backtester: parameter sweep, walk-forward, Monte Carlo.

Sweeps run one backtest per grid point in a process pool and report progress as points
finish. Walk-forward picks the best point on each training window and scores it on the next,
unseen window; each test window is a backtest of its own (a position still open at its end is
closed there) and their trades are stitched into one out-of-sample record with its metrics.
Monte Carlo resamples a run's trade P&Ls into percentiles of final P&L and max drawdown.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.runner import build_settings, load_data, run_on_data, trading_days
from shared.config.backtest_request import BacktestRequest
from shared.domain import metrics
from shared.domain.errors import ConfigError
from shared.domain.instruments import usd_to_cents
from shared.domain.models import TradeRecord

logger = logging.getLogger(__name__)

SweepProgress = Callable[[int, int], None]
PERCENTILES = (5, 25, 50, 75, 95)


def parameter_grid(grid: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Every combination of the grid's values, as --param dicts, in a stable order."""
    if not grid or any(len(values) == 0 for values in grid.values()):
        raise ConfigError("the parameter grid needs at least one value for every key")
    keys = sorted(grid)
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(grid[k] for k in keys))]


@dataclass(frozen=True)
class SweepPoint:
    """One grid point's parameters, headline metrics and trades."""

    params: dict[str, str]
    metrics: dict[str, Any]
    trades: tuple[TradeRecord, ...]


def _run_point(request_json: str, data: BarData) -> tuple[dict[str, Any], tuple[TradeRecord, ...]]:
    result = run_on_data(BacktestRequest.from_json(request_json), data)
    return result.metrics, result.trades


def sweep_on_data(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], data: BarData, workers: int = 2,
    progress: SweepProgress | None = None,
) -> list[SweepPoint]:
    """Backtest every grid point on ``data`` in a process pool; points in grid order."""
    points = parameter_grid(grid)
    requests = [base.model_copy(update={"params": {**base.params, **p}}) for p in points]
    for request in requests:  # fail fast on a bad key, in this process, with its message
        build_settings(request)
    results: dict[int, SweepPoint] = {}
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(_run_point, r.to_json(), data): i for i, r in enumerate(requests)}
        for future in as_completed(futures):
            index = futures[future]
            found, trades = future.result()
            results[index] = SweepPoint(points[index], found, trades)
            if progress is not None:
                progress(len(results), len(points))
            logger.info("sweep %d/%d: %s -> net $%.2f", len(results), len(points),
                        points[index], found["net_pnl_cents"] / 100)
    return [results[i] for i in range(len(points))]


def sweep(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], workers: int = 2,
    progress: SweepProgress | None = None,
) -> list[SweepPoint]:
    """Load the request's bars once and sweep the grid over them."""
    return sweep_on_data(base, grid, load_data(base, build_settings(base)), workers, progress)


def best_point(points: Sequence[SweepPoint], objective: str = "net_pnl_cents") -> SweepPoint:
    """The point with the highest objective (NaN counts as worst; ties: first in grid)."""
    def score(point: SweepPoint) -> float:
        value = point.metrics.get(objective)
        return float(value) if value is not None and np.isfinite(value) else -np.inf
    return max(points, key=score)


@dataclass(frozen=True)
class WalkForwardWindow:
    """One train/test split: bar ranges, the parameters chosen on train and the test result.

    The test result is a backtest of the test bars alone (from the starting equity), so a
    position still open at its last bar is closed there (``end_of_data``).
    """

    train: tuple[int, int]
    test: tuple[int, int]
    test_span: tuple[datetime, datetime]  # start times of the first and the last test bar
    params: dict[str, str]
    train_metrics: dict[str, Any]
    test_metrics: dict[str, Any]
    test_trades: tuple[TradeRecord, ...]

    @property
    def test_net_pnl_cents(self) -> int:
        """Out-of-sample net P&L of this window."""
        return sum(t.pnl_net_cents for t in self.test_trades)


@dataclass(frozen=True)
class WalkForwardResult:
    """Every window, and their test trades stitched into one out-of-sample record.

    Each test window traded from the starting equity on its own (its ruin stop included);
    the stitched metrics and equity chain their trades from one starting equity.
    """

    windows: tuple[WalkForwardWindow, ...]
    trades: tuple[TradeRecord, ...]
    metrics: dict[str, Any]  # shared.metrics.summarize of the stitched trades on the test bars
    equity: list[tuple[datetime, int]]  # realized equity after each stitched trade


def _window(data: BarData, start: int, stop: int, warmup: int) -> BarData:
    """Bars [start, stop) with up to ``warmup`` earlier bars for the indicators only."""
    begin = max(0, start - warmup)
    return data.slice(begin, stop, first=start - begin)


def walk_forward(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], train_bars: int, test_bars: int,
    objective: str = "net_pnl_cents", workers: int = 2, progress: SweepProgress | None = None,
) -> WalkForwardResult:
    """Load the request's bars and walk forward over them (``walk_forward_on_data``)."""
    data = load_data(base, build_settings(base))
    return walk_forward_on_data(base, grid, data, train_bars, test_bars, objective, workers,
                                progress)


def walk_forward_on_data(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], data: BarData, train_bars: int,
    test_bars: int, objective: str = "net_pnl_cents", workers: int = 2,
    progress: SweepProgress | None = None,
) -> WalkForwardResult:
    """Rolling windows: choose on train, score on the next, unseen test bars; stitch the tests.

    The choice for a window sees only its train bars (and their warm-up before them).
    """
    if train_bars < 1 or test_bars < 1:
        raise ConfigError("walk-forward needs positive train and test lengths in bars")
    settings = build_settings(base)
    warmup = settings.features.window_bars
    starts = range(data.first, len(data) - train_bars - test_bars + 1, test_bars)
    if not starts:
        raise ConfigError(f"{len(data) - data.first} bars are too few for one window of "
                          f"{train_bars} train + {test_bars} test bars")
    windows = []
    for number, start in enumerate(starts, 1):
        train_end, test_end = start + train_bars, start + train_bars + test_bars
        points = sweep_on_data(base, grid, _window(data, start, train_end, warmup), workers)
        chosen = best_point(points, objective)
        request = base.model_copy(update={"params": {**base.params, **chosen.params}})
        tested = run_on_data(request, _window(data, train_end, test_end, warmup))
        window = WalkForwardWindow((start, train_end), (train_end, test_end),
                                   (data.ts(train_end), data.ts(test_end - 1)), chosen.params,
                                   chosen.metrics, tested.metrics, tested.trades)
        windows.append(window)
        logger.info("walk-forward %d/%d: %s chosen; test %s to %s: %d trades, net $%.2f",
                    number, len(starts), chosen.params, *window.test_span,
                    len(window.test_trades), window.test_net_pnl_cents / 100)
        if tested.stopped_reason:
            logger.warning("walk-forward %d/%d test stopped: %s", number, len(starts),
                           tested.stopped_reason)
        if progress is not None:
            progress(number, len(starts))
    trades = tuple(t for w in windows for t in w.test_trades)
    starting = usd_to_cents(settings.backtest.starting_equity_usd)
    tested_bars = data.slice(windows[0].test[0], windows[-1].test[1])
    summary = metrics.summarize(trades, starting, trading_days(tested_bars),
                                np.asarray(tested_bars.ts_ns))
    return WalkForwardResult(tuple(windows), trades, summary,
                             metrics.equity_curve(trades, starting))


@dataclass(frozen=True)
class MonteCarloResult:
    """Percentiles (5, 25, 50, 75, 95) of final P&L and of max drawdown, in cents."""

    runs: int
    final_pnl_cents: dict[int, float]
    max_drawdown_cents: dict[int, float]


def monte_carlo(
    pnl_cents: Sequence[int], runs: int = 1000, seed: int = 7,
    percentiles: Sequence[int] = PERCENTILES,
) -> MonteCarloResult:
    """Resample the trade sequence with replacement ``runs`` times (same length each)."""
    if not pnl_cents:
        raise ConfigError("Monte Carlo needs at least one trade")
    rng = np.random.default_rng(seed)
    draws = rng.choice(np.asarray(pnl_cents, dtype=np.int64), size=(runs, len(pnl_cents)))
    equity = np.concatenate([np.zeros((runs, 1), dtype=np.int64), np.cumsum(draws, axis=1)],
                            axis=1)
    drawdown = (equity - np.maximum.accumulate(equity, axis=1)).min(axis=1)
    final = equity[:, -1]
    return MonteCarloResult(
        runs,
        {p: float(np.percentile(final, p)) for p in percentiles},
        {p: float(np.percentile(drawdown, p)) for p in percentiles},
    )
