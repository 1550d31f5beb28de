"""Whole-process accelerated replay: ``python -m bot run`` over the real 2025 ES file.

Starts the real bot as a child process (paper broker, replay feed at an unlimited speed, a
fresh SQLite journal, one journal transaction per bar) and stops it at ``feed.max_bars``
decided bars. Prints bars per second of wall time and of CPU time (the machine is shared, so
CPU time is the steadier figure), the whole process's start-up included, and the load average.
Skips with a message when the data folder is absent.
Usage: ``python benchmarks/bench_replay.py [bars]`` (default 20,000).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ES_1min_2025-08-31_2025-11-03_utc.csv"
sys.path.insert(0, str(ROOT))

from shared.persistence import journal_store  # noqa: E402
from shared.persistence.db import open_database  # noqa: E402

UNLIMITED_SPEED = 1e9  # bars are due long before they are decided: no pacing wait


def config_text(data: Path, bars: int) -> str:
    """A YAML config: paper broker, replay of ``data`` at unlimited speed, stop at ``bars``."""
    return (
        "feed:\n"
        "  source: replay\n"
        f"  replay_path: {data}\n"
        "  replay_timezone: UTC\n"
        "  bar_seconds: 60\n"
        f"  speed: {UNLIMITED_SPEED}\n"
        f"  max_bars: {bars}\n"
    )


def run_replay(data: Path, bars: int, folder: Path) -> tuple[float, float, int]:
    """Run the bot over ``bars`` bars; return (wall seconds, CPU seconds, bars journaled)."""
    config = folder / "replay.yaml"
    config.write_text(config_text(data, bars))
    db = folder / "replay.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TRADER_DB", None)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config), "--db", str(db)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"the bot failed:\n{text[-3000:]}")
    conn = open_database(db)
    try:
        journaled = journal_store.table_counts(conn, ["decisions"])["decisions"]
    finally:
        conn.close()
    return wall_s, usage.ru_utime + usage.ru_stime, journaled


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    if not DATA.exists():
        print(f"skipped: the real 2025 file is absent ({DATA})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        wall_s, cpu_s, journaled = run_replay(DATA, bars, Path(tmp))
    load = os.getloadavg()
    print(f"replay of {DATA.name}: {bars} bars, {journaled} decisions journaled, whole process "
          f"{wall_s:.2f} s wall ({bars / wall_s:,.0f} bars/s), {cpu_s:.2f} s CPU "
          f"({bars / cpu_s:,.0f} bars/CPU-s); load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
