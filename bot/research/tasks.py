"""The units of work ``run_many`` ships to workers: one backtest, or one chunk of Monte Carlo runs.

A task is a small frozen record (its key, the request as JSON, the bar window); the bars
themselves are the shared data every worker already holds. The functions here are what
workers run; they import nothing of the dashboard or the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.backtest.data import BarData
from bot.backtest.runner import run_on_data
from shared.config.backtest_request import BacktestRequest
from shared.domain.models import TradeRecord


@dataclass(frozen=True)
class BacktestTask:
    """One backtest of ``request_json`` on bars [start, stop) (``warmup`` earlier bars feed the
    indicators only); the whole data when ``window`` is None."""

    key: str
    request_json: str
    window: tuple[int, int, int] | None = None
    keep_trades: bool = False


@dataclass(frozen=True)
class BacktestOutcome:
    """A task's metrics (and trades, when kept)."""

    metrics: dict[str, Any]
    trades: tuple[TradeRecord, ...]
    stopped_reason: str | None


def window_of(data: BarData, start: int, stop: int, warmup: int) -> BarData:
    """Bars [start, stop) with up to ``warmup`` earlier bars for the indicators only."""
    begin = max(0, start - warmup)
    return data.slice(begin, stop, first=start - begin)


def run_backtest_task(task: BacktestTask, data: BarData) -> BacktestOutcome:
    """Run one backtest task on the shared bars (what a worker does)."""
    bars = data if task.window is None else window_of(data, *task.window)
    result = run_on_data(BacktestRequest.from_json(task.request_json), bars)
    metrics = {k: v for k, v in result.metrics.items() if k not in ("seconds", "bars_per_second")}
    return BacktestOutcome(metrics, result.trades if task.keep_trades else (),
                           result.stopped_reason)
