"""TPE search (Optuna) over a grid too large to enumerate, reproducible by its seed.

Every grid key is a categorical choice among its values. Trials are asked in fixed batches of
``BATCH`` (independent of the number of workers), each batch runs through ``run_many``, and
the results are told back in trial order: the same seed gives the same trials, the same points
and the same best, whatever the backend. A point sampled twice is run once. Optuna is imported
only here (``--search tpe``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

from bot.backtest.data import BarData
from bot.backtest.runner import build_settings
from bot.research.grid import task_hash
from bot.research.objectives import objective_value
from bot.research.scaleout import Backend, Progress, StopCheck, run_many
from bot.research.sweep import SweepPoint
from bot.research.tasks import BacktestTask, run_backtest_task
from shared.config.backtest_request import BacktestRequest

logger = logging.getLogger(__name__)

BATCH = 8


def tpe_search(
    base: BacktestRequest, grid: Mapping[str, Sequence[str]], data: BarData, trials: int,
    seed: int, objective: str, backend: Backend, drawdown_weight: float = 1.0,
    progress: Progress | None = None, should_stop: StopCheck | None = None,
) -> list[SweepPoint]:
    """Run ``trials`` TPE trials; return the distinct points tried, in the order first tried."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = {key: CategoricalDistribution(list(grid[key])) for key in sorted(grid)}
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, trials))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    found: dict[str, SweepPoint] = {}
    done = 0
    while done < trials:
        batch = [study.ask(space) for _ in range(min(BATCH, trials - done))]
        requests = {}
        for trial in batch:
            params = {key: str(value) for key, value in trial.params.items()}
            request = base.model_copy(update={"params": {**base.params, **params}})
            key = task_hash("backtest", request.params, request.seed)
            if key not in found and key not in requests:
                build_settings(request)  # a bad value fails here, with its message
                requests[key] = (params, request)
        tasks = [BacktestTask(key, request.to_json()) for key, (_, request) in requests.items()]
        outcomes = run_many(tasks, run_backtest_task, data, backend, None, should_stop)
        for key, (params, _) in requests.items():
            found[key] = SweepPoint(params, outcomes[key].metrics, (), key)
        for trial in batch:
            params = {key: str(value) for key, value in trial.params.items()}
            point = found[task_hash("backtest", {**base.params, **params}, base.seed)]
            value = objective_value(point.metrics, objective, drawdown_weight)
            if math.isfinite(value):
                study.tell(trial, value)
            else:
                study.tell(trial, state=TrialState.FAIL)  # undefined: no information
        done += len(batch)
        if progress is not None:
            progress(done, trials)
        logger.info("tpe %d/%d trials, %d distinct points", done, trials, len(found))
    return list(found.values())
