"""CPU time of the fast CSV path (``read_clean_csv``) on the data-path benchmark's CSV.

Writes the same 1,000,000-bar CSV as ``bench_data_path.py`` (or reuses ``--csv PATH``), then
times ``read_clean_csv`` a few times in this one process and prints the process CPU seconds
(steadier than wall time on a shared machine) of the first call (what a backtest pays: its memory
is touched for the first time) and the best and median of the later ones, with the peak RSS
and the load average.
Usage: ``python benchmarks/bench_parse.py [--csv PATH] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from benchmarks.bench_data_path import write_csv
    from bot.adapters.feeds.fast_csv import read_clean_csv

    path = args.csv
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="bench_parse_")) / "bars.csv"
        write_csv(path, 1_000_000)
    cpu, wall = [], []
    for _ in range(args.repeat):
        started_cpu, started = time.process_time(), time.perf_counter()
        frame = read_clean_csv(path, "America/New_York")
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
        if frame is None:
            raise SystemExit(f"the fast path declined {path}")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    later = cpu[1:] or cpu
    print(f"read_clean_csv {len(frame):,} rows: CPU first call {cpu[0]:.3f} s ({wall[0]:.3f} s "
          f"wall), later best {min(later):.3f} s, median {statistics.median(later):.3f} s; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"load {load}")


if __name__ == "__main__":
    main()
