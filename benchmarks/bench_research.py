"""Sweep scaling: a 16-point grid on 1 and 2 local workers and on a 2-worker Dask cluster.

The cluster is a real ``dask scheduler`` and ``dask worker --nworkers 2`` started on loopback.
Prints each backend's wall time, the speed-ups and whether every backend gave identical results
(parameters, metrics and trades of every point). Usage: ``python benchmarks/bench_research.py
[bars]`` (default 500,000 synthetic one-minute bars; each worker pays a fixed start-up, so
short tasks hide the scaling).
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
from bot.research.scaleout import DaskBackend, LocalBackend  # noqa: E402
from bot.research.sweep import sweep_on_data  # noqa: E402
from shared.config.backtest_request import BacktestRequest  # noqa: E402
from tests.bot.research.dask_cluster import dask_cluster  # noqa: E402

GRID = {"stop_atr": ["1.5", "2", "2.5", "3"], "target_ratio": ["1.5", "2", "2.5", "3"]}


def fingerprint(points) -> str:
    return json.dumps([[p.key, p.params, p.metrics, [t.pnl_net_cents for t in p.trades]]
                       for p in points], sort_keys=True, default=str)


def timed(base, data, backend) -> tuple[float, str]:
    started = time.perf_counter()
    points = sweep_on_data(base, GRID, data, backend=backend)
    return time.perf_counter() - started, fingerprint(points)


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    base = BacktestRequest(bars=bars, strategy="rsi_macd_bracket", commission_usd=0.62,
                           slippage_ticks=1)
    data = load_data(base, build_settings(base))
    print(f"16-point grid of rsi_macd_bracket on {bars:,} synthetic 1-minute bars")
    one_s, one = timed(base, data, LocalBackend(1))
    two_s, two = timed(base, data, LocalBackend(2))
    with dask_cluster(2, Path(tempfile.mkdtemp(prefix="bench_dask_"))) as address:
        dask_s, on_dask = timed(base, data, DaskBackend(address))
    print(f"1 local worker:          {one_s:6.2f} s")
    print(f"2 local workers:         {two_s:6.2f} s  speed-up {one_s / two_s:.2f}x")
    print(f"Dask cluster, 2 workers: {dask_s:6.2f} s  speed-up {one_s / dask_s:.2f}x")
    print(f"identical results on every backend: {one == two == on_dask}")
    print("(speed-ups need idle cores: with other sessions busy, Linux shares the CPU by session "
          "(autogroup), so extra workers only split this session's share)")


if __name__ == "__main__":
    main()
