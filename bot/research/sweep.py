"""Parameter sweep: one backtest per grid point, on local workers or a Dask cluster.

The request's bars are loaded once (the Parquet cache makes a second sweep of the same file
skip parsing) and shipped once per worker; every point is a task named by its parameter hash.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.backtest.data import BarData
from bot.backtest.runner import build_settings, load_data
from bot.research.grid import parameter_grid, task_hash
from bot.research.objectives import objective_value
from bot.research.scaleout import Backend, LocalBackend, Progress, StopCheck, run_many
from bot.research.tasks import BacktestTask, run_backtest_task
from shared.config.backtest_request import BacktestRequest
from shared.domain.models import TradeRecord

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepPoint:
    """One grid point's parameters, hash, headline metrics (and trades, when kept)."""

    params: dict[str, str]
    metrics: dict[str, Any]
    trades: tuple[TradeRecord, ...]
    key: str = ""


def point_requests(base: BacktestRequest, grid: Mapping[str, Sequence[str]]
                   ) -> tuple[list[dict[str, str]], list[BacktestRequest]]:
    """The grid's points and their requests; a bad key fails here, before any run."""
    points = parameter_grid(grid)
    requests = [base.model_copy(update={"params": {**base.params, **p}}) for p in points]
    for request in requests:
        build_settings(request)
    return points, requests


def sweep_on_data(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], data: BarData,
    workers: int = 2, progress: Progress | None = None, backend: Backend | None = None,
    should_stop: StopCheck | None = None, keep_trades: bool = True,
) -> list[SweepPoint]:
    """Backtest every grid point on ``data``; points in grid order."""
    points, requests = point_requests(base, grid)
    tasks = [BacktestTask(task_hash("backtest", r.params, r.seed), r.to_json(),
                          keep_trades=keep_trades) for r in requests]
    found = run_many(tasks, run_backtest_task, data, backend or LocalBackend(workers), progress,
                     should_stop)
    swept = []
    for point, task in zip(points, tasks, strict=True):
        outcome = found[task.key]
        swept.append(SweepPoint(point, outcome.metrics, outcome.trades, task.key))
        logger.info("sweep %s -> net $%.2f", point, outcome.metrics["net_pnl_cents"] / 100)
    return swept


def sweep(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], workers: int = 2,
    progress: Progress | None = None, backend: Backend | None = None,
) -> list[SweepPoint]:
    """Load the request's bars once and sweep the grid over them."""
    return sweep_on_data(base, grid, load_data(base, build_settings(base)), workers, progress,
                         backend)


def best_point(points: Sequence[SweepPoint], objective: str = "net_pnl",
               drawdown_weight: float = 1.0) -> SweepPoint:
    """The point with the highest objective (undefined counts as worst; ties: first in grid)."""
    return max(points, key=lambda p: objective_value(p.metrics, objective, drawdown_weight))


def ranked(points: Sequence[SweepPoint], objective: str, drawdown_weight: float = 1.0
           ) -> list[SweepPoint]:
    """Points best first (ties keep grid order)."""
    scores = [objective_value(p.metrics, objective, drawdown_weight) for p in points]
    order = sorted(range(len(points)), key=lambda i: (-scores[i] if not math.isnan(scores[i])
                                                      else math.inf, i))
    return [points[i] for i in order]
