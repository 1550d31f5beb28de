"""Evaluation harness timing: memory judged with 20 placebo seeds on the 2025 ES file.

Runs ``evaluate`` (layer off and on, the walk-forward pair, 20 placebo runs for each form:
44+ backtests) on 2 local workers and on a real loopback Dask cluster (``dask scheduler`` and
``dask worker --nworkers 2``), prints each wall time, the verdicts and whether both backends
gave identical evidence. Usage: ``python benchmarks/bench_evaluate.py [seeds] [--local-only]
[--data-dir DIR]``. Reads the file from ``../shared/data/`` (or DIR); says so when it is absent.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.backtest.runner import build_settings, load_data  # noqa: E402
from bot.evaluation.harness import EvalPlan, evaluate  # noqa: E402
from bot.research.scaleout import DaskBackend, LocalBackend  # noqa: E402
from shared.config.backtest_request import BacktestRequest  # noqa: E402
from tests.bot.research.dask_cluster import dask_cluster  # noqa: E402

NAME = "ES_1min_2025-08-31_2025-11-03_utc.csv"


def data_file() -> Path:
    """The 2025 file in ``--data-dir DIR`` or ``../shared/data``."""
    if "--data-dir" in sys.argv[:-1]:
        return Path(sys.argv[sys.argv.index("--data-dir") + 1]) / NAME
    return ROOT.parent / "shared" / "data" / NAME


def timed(plan: EvalPlan, data, backend) -> tuple[float, dict]:
    started = time.perf_counter()
    document = evaluate(plan, data, backend)
    return time.perf_counter() - started, document


def evidence(document: dict) -> str:
    return json.dumps({k: document[k] for k in ("whole_run", "walk_forward")}, sort_keys=True)


def main() -> None:
    path = data_file()
    if not path.is_file():
        print(f"skipped: {path} is absent (the real ES bars live in ../shared/data/)")
        return
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 20
    request = BacktestRequest(data=str(path))
    data = load_data(request, build_settings(request))
    plan = EvalPlan("memory", request, seeds)
    runs = 4 + 2 * seeds
    print(f"memory on {path.name} ({len(data) - data.first:,} bars): {runs} backtests "
          f"({seeds} placebo seeds per form)")
    local_s, local = timed(plan, data, LocalBackend(2))
    print(f"2 local workers:         {local_s:6.1f} s  ({local_s / runs:.2f} s per backtest)")
    print(f"  whole run:    {local['verdict']}")
    print(f"  walk-forward: {local['walk_forward_verdict']}")
    if "--local-only" in sys.argv:
        return
    with dask_cluster(2, Path(tempfile.mkdtemp(prefix="bench_eval_dask_"))) as address:
        dask_s, on_dask = timed(plan, data, DaskBackend(address))
    print(f"Dask cluster, 2 workers: {dask_s:6.1f} s")
    print(f"identical evidence on both backends: {evidence(local) == evidence(on_dask)}")


if __name__ == "__main__":
    main()
