"""Walk-forward: choose parameters in-sample, test them on the next, unseen bars; stitch the tests.

Windows roll (fixed in-sample length) or are anchored (in-sample grows from the first bar). All
in-sample backtests of every window are one batch of tasks, the out-of-sample tests a second,
so the workers stay busy. Each test window is a backtest of its own, from the starting equity,
and a position still open at its last bar is closed there; the choice for a window sees only
its in-sample bars (and their warm-up before them). The result has, per window, the in-sample
and out-of-sample metrics and the chosen parameters, the stitched out-of-sample record, and how
stable the chosen parameters were across windows.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.runner import build_settings, load_data, trading_days
from bot.research.grid import task_hash
from bot.research.objectives import objective_value
from bot.research.scaleout import Backend, LocalBackend, Progress, StopCheck, run_many
from bot.research.sweep import SweepPoint, best_point, point_requests
from bot.research.tasks import BacktestTask, run_backtest_task
from shared.config.backtest_request import BacktestRequest
from shared.domain import metrics
from shared.domain.errors import ConfigError
from shared.domain.instruments import usd_to_cents
from shared.domain.models import TradeRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalkForwardWindow:
    """One split: bar ranges, the parameters chosen in-sample and both results."""

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
    """Every window, their test trades stitched into one out-of-sample record, and stability."""

    windows: tuple[WalkForwardWindow, ...]
    trades: tuple[TradeRecord, ...]
    metrics: dict[str, Any]  # shared.metrics.summarize of the stitched trades on the test bars
    equity: list[tuple[datetime, int]]  # realized equity after each stitched trade
    stability: dict[str, dict[str, Any]]


def windows_of(first: int, count: int, train_bars: int, test_bars: int, anchored: bool
               ) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(train, test) bar ranges: tests follow each other; the train range rolls or grows."""
    if train_bars < 1 or test_bars < 1:
        raise ConfigError("walk-forward needs positive train and test lengths in bars")
    starts = range(first, count - train_bars - test_bars + 1, test_bars)
    if not starts:
        raise ConfigError(f"{count - first} bars are too few for one window of "
                          f"{train_bars} train + {test_bars} test bars")
    return [((first if anchored else s, s + train_bars), (s + train_bars, s + train_bars +
                                                          test_bars)) for s in starts]


def parameter_stability(chosen: Sequence[Mapping[str, str]]) -> dict[str, dict[str, Any]]:
    """Per parameter: the value chosen in each window, how often the commonest one was chosen,
    and for numbers their mean, spread and coefficient of variation."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted({k for params in chosen for k in params}):
        values = [params.get(key, "") for params in chosen]
        value, count = Counter(values).most_common(1)[0]
        entry: dict[str, Any] = {"values": values, "distinct": len(set(values)),
                                 "most_common": value, "most_common_share": count / len(values)}
        try:
            numbers = np.array([float(v) for v in values])
        except ValueError:
            numbers = None
        if numbers is not None:
            mean, spread = float(numbers.mean()), float(numbers.std())
            entry.update(mean=mean, std=spread, cv=spread / abs(mean) if mean else None)
        out[key] = entry
    return out


def walk_forward(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], train_bars: int, test_bars: int,
    objective: str = "net_pnl", workers: int = 2, progress: Progress | None = None,
    anchored: bool = False, backend: Backend | None = None,
) -> WalkForwardResult:
    """Load the request's bars and walk forward over them (``walk_forward_on_data``)."""
    data = load_data(base, build_settings(base))
    return walk_forward_on_data(base, grid, data, train_bars, test_bars, objective, workers,
                                progress, anchored=anchored, backend=backend)


def walk_forward_on_data(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], data: BarData, train_bars: int,
    test_bars: int, objective: str = "net_pnl", workers: int = 2,
    progress: Progress | None = None, anchored: bool = False, backend: Backend | None = None,
    should_stop: StopCheck | None = None, drawdown_weight: float = 1.0,
) -> WalkForwardResult:
    """Choose on each in-sample window, score on the next out-of-sample one, stitch the tests."""
    objective_value({}, objective)  # an unknown objective fails before any run
    settings = build_settings(base)
    warmup = settings.features.window_bars
    splits = windows_of(data.first, len(data), train_bars, test_bars, anchored)
    points, requests = point_requests(base, grid)
    backend = backend or LocalBackend(workers)
    total = len(splits) * (len(points) + 1)

    def report(offset: int) -> Progress:
        return lambda done, _: progress(offset + done, total) if progress else None

    train_tasks = [BacktestTask(task_hash("train", r.params, r.seed, train), r.to_json(),
                                (*train, warmup)) for train, _ in splits for r in requests]
    trained = run_many(train_tasks, run_backtest_task, data, backend, report(0), should_stop)
    chosen, test_tasks = [], []
    for number, (_, test) in enumerate(splits):
        mine = train_tasks[number * len(points) : (number + 1) * len(points)]
        found = [SweepPoint(p, trained[t.key].metrics, (), t.key)
                 for p, t in zip(points, mine, strict=True)]
        best = best_point(found, objective, drawdown_weight)
        request = base.model_copy(update={"params": {**base.params, **best.params}})
        chosen.append(best)
        test_tasks.append(BacktestTask(task_hash("test", request.params, request.seed, test),
                                       request.to_json(), (*test, warmup), keep_trades=True))
    tested = run_many(test_tasks, run_backtest_task, data, backend, report(len(train_tasks)),
                      should_stop)
    windows = []
    for (train, test), best, task in zip(splits, chosen, test_tasks, strict=True):
        outcome = tested[task.key]
        window = WalkForwardWindow(train, test, (data.ts(test[0]), data.ts(test[1] - 1)),
                                   best.params, best.metrics, outcome.metrics, outcome.trades)
        windows.append(window)
        logger.info("walk-forward %s chosen; test %s to %s: %d trades, net $%.2f", best.params,
                    *window.test_span, len(window.test_trades), window.test_net_pnl_cents / 100)
        if outcome.stopped_reason:
            logger.warning("walk-forward test %s stopped: %s", test, outcome.stopped_reason)
    trades = tuple(t for w in windows for t in w.test_trades)
    starting = usd_to_cents(settings.backtest.starting_equity_usd)
    tested_bars = data.slice(windows[0].test[0], windows[-1].test[1])
    summary = metrics.summarize(trades, starting, trading_days(tested_bars),
                                np.asarray(tested_bars.ts_ns))
    return WalkForwardResult(tuple(windows), trades, summary,
                             metrics.equity_curve(trades, starting),
                             parameter_stability([w.params for w in windows]))
