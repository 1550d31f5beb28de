"""Benchmark the memory of past setups: lookup latency, the live loop with memory, backtests.

1. ``MemoryIndex.query`` p50/p99 with 1k, 10k and 100k stored setups (default config; the
   setups are drawn around the typical feature spreads, in a handful of buckets), as wall time
   and as this thread's CPU time (which other processes on a shared machine do not inflate).
2. The live loop (``LiveBot``, paper broker, SQLite journal) with memory on and 10k closed
   setups in the journal: per-bar p50/p99, and on the bars where memory was consulted; then
   the same loop with memory off, for comparison on the same machine.
3. Backtest bars/s over synthetic 1-minute bars: memory off, on from empty, on seeded with the
   setups a memory-off run recorded over the bars before.
Prints figures; asserts nothing. Usage: ``python benchmarks/bench_memory.py [live_bars] [bt_bars]``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.data import synthetic_data  # noqa: E402
from bot.backtest.engine_run import run_engine, session_clock  # noqa: E402
from bot.composition import paper_broker  # noqa: E402
from bot.core.memory import FEATURE_SCHEMA_VERSION, PRIOR_SCALE, MemoryIndex  # noqa: E402
from bot.runtime.live import LiveBot  # noqa: E402
from bot.runtime.memory_restore import restore_memory  # noqa: E402
from shared.config.settings import MemoryConfig, settings_from_mapping  # noqa: E402
from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup  # noqa: E402
from shared.domain.models import Side  # noqa: E402
from shared.persistence import journal_store, memory_store  # noqa: E402
from shared.persistence.db import open_database, write_transaction  # noqa: E402

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
BUCKETS = [("open", "normal", "range"), ("midday", "low", "range"), ("overnight", "normal",
           "trend_up"), ("close", "high", "trend_down"), ("pre_open", "normal", "range")]


def random_rows(count: int, seed: int = 1) -> list[MemoryRow]:
    """``count`` closed setups, one per minute before T0, around the typical spreads."""
    rng = np.random.default_rng(seed)
    vectors = np.float32(rng.normal(0, 1, (count, len(PRIOR_SCALE))) * PRIOR_SCALE)
    rows = []
    for i in range(count):
        closed = T0 - timedelta(minutes=count - i)
        setup = MemorySetup(closed - timedelta(minutes=5), Side.LONG if i % 2 else Side.SHORT,
                            FEATURE_SCHEMA_VERSION, tuple(float(v) for v in vectors[i]),
                            BUCKETS[i % len(BUCKETS)])
        pnl = int(rng.integers(-3000, 4000))
        rows.append(MemoryRow(f"R{i}", setup, 2500, MemoryOutcome(pnl, pnl / 2500, "stop",
                                                                  closed)))
    return rows


def bench_lookup(count: int, queries: int = 3000) -> None:
    """Query p50/p99 with ``count`` stored setups."""
    index = MemoryIndex.from_rows(random_rows(count))
    probes = [r.setup for r in random_rows(queries, seed=2)]
    cfg = MemoryConfig(enabled=True)
    for probe in probes[:200]:
        index.query(probe, T0, cfg)  # warm caches
    wall_ms, cpu_ms, neighbours = [], [], []
    for probe in probes:
        started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
        verdict = index.query(probe, T0, cfg)
        cpu_ms.append((time.thread_time_ns() - started_cpu) / 1e6)
        wall_ms.append((time.perf_counter_ns() - started) / 1e6)
        neighbours.append(verdict.neighbours_count)
    wall, cpu = np.array(wall_ms), np.array(cpu_ms)
    print(f"lookup, {count:>7,} setups: wall p50 {np.percentile(wall, 50):.3f} ms  "
          f"p99 {np.percentile(wall, 99):.3f} ms | cpu p50 {np.percentile(cpu, 50):.3f} ms  "
          f"p99 {np.percentile(cpu, 99):.3f} ms  (median {np.median(neighbours):.0f} "
          "neighbours within the radius)")


def bench_live(bars: int, folder: Path, stored: int = 10_000, enabled: bool = True) -> None:
    """The live loop with memory on (``stored`` closed setups in its journal) or off."""
    db = folder / f"live-{enabled}.db"
    conn = open_database(db)
    with write_transaction(conn):
        for row in random_rows(stored if enabled else 0, seed=3):
            memory_store.insert_memory_setup(conn, "MES", row, T0)
            memory_store.close_memory_setup(conn, row.bracket_id, row.outcome, T0)
    conn.close()
    settings = settings_from_mapping({
        "feed": {"start": "2025-03-03T14:30:00Z", "speed": 1_000_000, "max_bars": bars},
        "engine": {"heartbeat_seconds": 1.0},
        "memory": {"enabled": enabled, "min_weighted_win_rate": 0.0},
    }, env={})
    conn = open_database(db)
    started = time.perf_counter()
    restore_memory(conn)  # what LiveBot does at start
    restore_s = time.perf_counter() - started
    conn.close()
    bot = LiveBot(settings, db, "benchmark", paper_broker)
    asyncio.run(bot.run())
    latencies = np.array(bot.bar_latencies_ms)
    conn = open_database(db)
    decisions = list(reversed(journal_store.recent_decisions(conn, len(latencies))))
    conn.close()
    consulted = np.array([d["memory_json"] != "{}" for d in decisions])
    warm = slice(settings.features.window_bars, None)
    full, asked = latencies[warm], latencies[warm][consulted[warm]]
    label = (f"memory on, {stored:,} setups (rebuilt from SQLite in {restore_s:.2f} s)" if enabled
             else "memory off")
    print(f"live loop, {label}: {len(latencies)} bars, per bar p50 "
          f"{np.percentile(full, 50):.3f} ms  p99 {np.percentile(full, 99):.3f} ms  "
          f"max {full.max():.3f} ms")
    if len(asked):
        print(f"  bars where memory was consulted (n={len(asked)}): "
              f"p50 {np.percentile(asked, 50):.3f} ms  p99 {np.percentile(asked, 99):.3f} ms")


def bench_backtest(bars: int) -> None:
    """Backtest bars/s on the second half of the bars: memory off, on from empty, on seeded
    with the setups of a memory-off run over the first half."""
    data = synthetic_data(bars, seed=7, bar_seconds=60, start=None)
    warm_up = 600
    history, tested = data.slice(0, bars // 2), data.slice(bars // 2 - warm_up, bars, warm_up)
    session_clock()
    base = {"feed": {"bar_seconds": 60}}
    off_settings = settings_from_mapping({**base, "memory": {"enabled": False}}, env={})
    on_settings = settings_from_mapping({**base, "memory": {"enabled": True}}, env={})
    seed = MemoryIndex()
    run_engine(off_settings, history, memory=seed)  # the engine records setups even when off
    count = len(tested) - tested.first
    runs = (("memory off", off_settings, None), ("memory on, empty", on_settings, None),
            (f"memory on, {len(seed):,} seeded", on_settings, seed))
    for label, settings, memory in runs:
        started = time.perf_counter()
        outcome = run_engine(settings, tested, memory=memory)
        seconds = time.perf_counter() - started
        print(f"backtest, {label + ':':<24} {count / seconds:>10,.0f} bars/s ({seconds:.2f} s "
              f"for {count:,} bars, {len(outcome.trades)} trades, "
              f"{outcome.memory.refused} refused)")


def main() -> None:
    live_bars = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    backtest_bars = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    logging.basicConfig(level=logging.WARNING)
    for count in (1_000, 10_000, 100_000):
        bench_lookup(count)
    with tempfile.TemporaryDirectory() as tmp:
        bench_live(live_bars, Path(tmp))
        bench_live(live_bars, Path(tmp), enabled=False)
    bench_backtest(backtest_bars)


if __name__ == "__main__":
    main()
