"""Benchmark the live journal's per-bar commits: their spread, and the slow ones' cause.

Runs the real ``LiveBot`` with every layer on (as ``bench_live_loop.py``) and times each journal
flush (wall and thread CPU), with the WAL file's size before it. A commit that ran SQLite's
automatic checkpoint takes milliseconds instead of ~0.07 ms; this prints how many flushes took
over 1 ms, the WAL's high mark and the checkpoints run between bars. Asserts nothing.
Usage: ``python benchmarks/bench_journal_commits.py [bars]``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_live_loop import EVERY_LAYER  # noqa: E402

from bot.composition import paper_broker  # noqa: E402
from bot.runtime.live import LiveBot  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402

SLOW_MS = 1.0


def bench_commits(bars: int, folder: Path) -> None:
    """Run the live loop over ``bars`` bars and print the journal flushes' figures."""
    settings = settings_from_mapping({
        "feed": {"start": "2025-03-03T14:30:00Z", "speed": 1_000_000, "max_bars": bars},
        "engine": {"heartbeat_seconds": 1.0}, **EVERY_LAYER}, env={})
    db = folder / "commits.db"
    bot = LiveBot(settings, db, "benchmark", paper_broker)
    wal = db.parent / f"{db.name}-wal"
    journal = bot.engine.journal
    flush = journal.flush
    wall_ms: list[float] = []
    cpu_ms: list[float] = []
    wal_bytes: list[int] = []

    def timed_flush() -> None:
        wal_bytes.append(wal.stat().st_size if wal.exists() else 0)
        started, started_cpu = time.perf_counter(), time.thread_time()
        flush()
        wall_ms.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((time.thread_time() - started_cpu) * 1000)

    journal.flush = timed_flush  # type: ignore[method-assign]
    asyncio.run(bot.run())
    wall, cpu = np.array(wall_ms), np.array(cpu_ms)
    slow = np.flatnonzero(wall > SLOW_MS)
    checkpoints = getattr(getattr(bot, "checkpointer", None), "checkpoints", "n/a")
    print(f"journal flushes: {len(wall)}; wall p50 {np.percentile(wall, 50):.3f} ms  "
          f"p99 {np.percentile(wall, 99):.3f} ms  max {wall.max():.3f} ms; CPU p50 "
          f"{np.percentile(cpu, 50):.3f} ms  p99 {np.percentile(cpu, 99):.3f} ms  "
          f"max {cpu.max():.3f} ms")
    print(f"flushes over {SLOW_MS:g} ms: {len(slow)} (at flush "
          f"{', '.join(str(i) for i in slow[:8])}{' ...' if len(slow) > 8 else ''}); "
          f"WAL high mark {max(wal_bytes) / 1e6:.1f} MB; checkpoints between bars: {checkpoints}")


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        bench_commits(bars, Path(tmp))


if __name__ == "__main__":
    main()
