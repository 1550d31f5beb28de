"""Run a ``ResearchRequest``: load the bars once, pick the backend, run the tool, build the
result document (what the CLI prints, stores and writes)."""

from __future__ import annotations

from typing import Any

from bot.backtest.runner import build_settings, load_data
from bot.research.grid import task_hash
from bot.research.montecarlo import chunk_tasks, monte_carlo
from bot.research.report import monte_carlo_document, sweep_document, walk_forward_document
from bot.research.scaleout import (
    Backend,
    DaskBackend,
    LocalBackend,
    Progress,
    StopCheck,
    run_many,
)
from bot.research.sweep import sweep_on_data
from bot.research.tasks import BacktestTask, run_backtest_task
from bot.research.walkforward import walk_forward_on_data
from shared.config.research_request import ResearchKind, ResearchRequest
from shared.domain.errors import ConfigError
from shared.domain.instruments import usd_to_cents


def backend_of(request: ResearchRequest) -> Backend:
    """The request's cluster, or local workers."""
    return DaskBackend(request.cluster) if request.cluster else LocalBackend(request.workers)


def execute(request: ResearchRequest, progress: Progress | None = None,
            should_stop: StopCheck | None = None) -> dict[str, Any]:
    """Run the request and return its result document."""
    base = request.backtest
    settings = build_settings(base)
    data = load_data(base, settings)
    backend = backend_of(request)
    if request.kind is ResearchKind.SWEEP and request.search == "tpe":
        from bot.research.tpe import tpe_search  # loads optuna only when asked

        points = tpe_search(base, request.grid, data, request.trials, request.seed,
                            request.objective, backend, request.drawdown_weight, progress,
                            should_stop)
        document = sweep_document(points, request.grid, request.objective,
                                  request.drawdown_weight)
        return {**document, "search": "tpe", "trials": request.trials, "seed": request.seed}
    if request.kind is ResearchKind.SWEEP:
        points = sweep_on_data(base, request.grid, data, progress=progress, backend=backend,
                               should_stop=should_stop, keep_trades=False)
        return sweep_document(points, request.grid, request.objective, request.drawdown_weight)
    if request.kind is ResearchKind.WALK_FORWARD:
        result = walk_forward_on_data(base, request.grid, data, request.train_bars,
                                      request.test_bars, request.objective, progress=progress,
                                      anchored=request.anchored, backend=backend,
                                      should_stop=should_stop,
                                      drawdown_weight=request.drawdown_weight)
        return walk_forward_document(result, request.grid, request.objective,
                                     request.drawdown_weight, request.anchored)
    starting = usd_to_cents(request.starting_equity_usd or settings.backtest.starting_equity_usd)
    ruin = usd_to_cents(request.ruin_equity_usd)
    chunks = len(chunk_tasks(request.method, request.block_length, request.runs, request.seed,
                             starting, ruin))
    total = chunks + 1
    source_task = BacktestTask(task_hash("backtest", base.params, base.seed), base.to_json(),
                               keep_trades=True)
    found = run_many([source_task], run_backtest_task, data, backend,
                     lambda done, _: progress(done, total) if progress else None, should_stop)
    source = found[source_task.key]
    if not source.trades:
        raise ConfigError("Monte Carlo needs trades, and this backtest made none")
    result = monte_carlo([t.pnl_net_cents for t in source.trades], request.runs, request.seed,
                         method=request.method, block_length=request.block_length,
                         starting_equity_cents=starting, ruin_equity_cents=ruin,
                         backend=backend, should_stop=should_stop,
                         progress=lambda done, _: progress(1 + done, total) if progress else None)
    return monte_carlo_document(result, source.metrics)
