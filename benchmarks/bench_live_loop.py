"""Benchmark the live loop: per-bar decision latency (p50/p99) and journal writes per second.

Runs the real ``LiveBot`` (paper broker, synthetic feed, SQLite journal in a temp folder) over
a fixed number of bars as fast as it can go, with the default layers and then with every layer
on (memory consulted, news sentiment, learned rules polled, the LLM enabled with its worker
idle: provider "none"), then a journal-only write loop. Prints figures; asserts nothing.
Usage: ``python benchmarks/bench_live_loop.py [bars]``.
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

from bot.adapters.journal import SqliteJournal  # noqa: E402
from bot.composition import paper_broker  # noqa: E402
from bot.runtime.live import LiveBot  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402
from shared.domain.models import Action, Bar, DecisionRecord, Verdict  # noqa: E402
from shared.persistence.db import open_database  # noqa: E402

logger = logging.getLogger("bench")


EVERY_LAYER = {
    "memory": {"enabled": True},
    "news": {"enabled": True},
    "llm": {"enabled": True, "provider": "none"},
}


def bench_live_loop(bars: int, folder: Path, layers: dict | None = None) -> None:
    """Run the live loop over ``bars`` synthetic bars and print latency and throughput."""
    settings = settings_from_mapping(
        {
            "feed": {"start": "2025-03-03T14:30:00Z", "speed": 1_000_000, "max_bars": bars},
            "engine": {"heartbeat_seconds": 1.0},
            **(layers or {}),
        },
        env={},
    )
    name = "every layer on" if layers else "default layers"
    bot = LiveBot(settings, folder / f"bench-{len(layers or {})}.db", "benchmark", paper_broker)
    commit_ms, cpu_ms = _time_journal_commits(bot)
    started = time.perf_counter()
    asyncio.run(bot.run())
    elapsed_s = time.perf_counter() - started
    latencies = np.array(bot.bar_latencies_ms)
    warm = latencies[settings.features.window_bars:]
    commits = np.array(commit_ms)[settings.features.window_bars:]
    cpu = np.array(cpu_ms)[settings.features.window_bars:]
    journal = bot.engine.journal
    writes = journal.writes if isinstance(journal, SqliteJournal) else 0
    print(f"live loop, {name}: {len(latencies)} bars in {elapsed_s:.2f} s "
          f"({len(latencies) / elapsed_s:,.0f} bars/s)")
    print(f"per-bar decision latency (full window, n={len(warm)}): "
          f"p50 {np.percentile(warm, 50):.3f} ms  p99 {np.percentile(warm, 99):.3f} ms  "
          f"max {warm.max():.3f} ms")
    print(f"  of which the bar's journal transaction: p50 {np.percentile(commits, 50):.3f} ms  "
          f"p99 {np.percentile(commits, 99):.3f} ms; the rest (decision, JSON, polls): "
          f"p50 {np.percentile(warm - commits, 50):.3f} ms  "
          f"p99 {np.percentile(warm - commits, 99):.3f} ms")
    print(f"  CPU time of the same bars (thread time, steadier than wall on a shared machine): "
          f"p50 {np.percentile(cpu, 50):.3f} ms  p99 {np.percentile(cpu, 99):.3f} ms  "
          f"mean {cpu.mean():.3f} ms")
    print(f"journal rows written in the loop: {writes} ({writes / elapsed_s:,.0f} rows/s "
          "including decision time)")


def _time_journal_commits(bot: LiveBot) -> tuple[list[float], list[float]]:
    """Time the journal's flushes inside each decided bar, and the bar's CPU time (one list
    entry per latency each)."""
    per_bar: list[float] = []
    cpu_ms: list[float] = []
    journal, process_bar = bot.engine.journal, bot.process_bar
    flush, spent = journal.flush, [0.0]

    def timed_flush() -> None:
        started = time.perf_counter()
        try:
            flush()
        finally:
            spent[0] += time.perf_counter() - started

    def timed_process_bar(bar: Bar, decide: bool = True) -> None:
        spent[0], decided = 0.0, len(bot.bar_latencies_ms)
        started_cpu = time.thread_time()
        process_bar(bar, decide)
        if len(bot.bar_latencies_ms) > decided:
            cpu_ms.append((time.thread_time() - started_cpu) * 1000)
            per_bar.append(spent[0] * 1000)

    journal.flush = timed_flush  # type: ignore[method-assign]
    bot.process_bar = timed_process_bar  # type: ignore[method-assign]
    return per_bar, cpu_ms


def bench_journal(rows: int, folder: Path) -> None:
    """Write ``rows`` decision+bar pairs, one transaction per bar, and print rows per second."""
    conn = open_database(folder / "journal.db")
    journal = SqliteJournal(conn)
    t0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    started = time.perf_counter()
    for i in range(rows):
        ts = t0 + timedelta(seconds=5 * i)
        journal.record_bar("MES", Bar(ts, 5000.0, 5000.5, 4999.75, 5000.25, 100))
        journal.record_decision(
            DecisionRecord(ts, "MES", 5000.25, "{}", "{}", "[]", Action.HOLD, 0.0, 0.0, 0.0,
                           0.0, Verdict.HOLD, None, ("no strategy fired",), "none", None, {})
        )
        journal.flush()
    elapsed_s = time.perf_counter() - started
    print(f"journal: {journal.writes} rows in {rows} transactions, {elapsed_s:.2f} s: "
          f"{journal.writes / elapsed_s:,.0f} rows/s, {rows / elapsed_s:,.0f} commits/s")


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        bench_live_loop(bars, Path(tmp))
        bench_live_loop(bars, Path(tmp), EVERY_LAYER)
        bench_journal(5000, Path(tmp))


if __name__ == "__main__":
    main()
