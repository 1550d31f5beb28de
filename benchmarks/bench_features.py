"""Benchmark the live loop's features alone: ``IncrementalFeatures.append`` + ``features()``.

Feeds the seeded synthetic market's bars (the live feed's very bars, built beforehand) to an
``IncrementalFeatures`` with the session-level tracker, as the live loop does, and prints the
CPU time (process time: steadier than wall time on a shared machine) per bar of append and
features (append alone, then both: features is the difference; a clock read per call would
cost as much as the work), over the bars after the window has filled, best of a few repeats.
Usage: ``python benchmarks/bench_features.py [bars] [repeats]`` (default 5,000 bars, 3).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.data import synthetic_data  # noqa: E402
from bot.backtest.engine_run import session_clock  # noqa: E402
from bot.core.incremental_features import IncrementalFeatures  # noqa: E402
from bot.core.session_levels import LevelRules, SessionLevelTracker  # noqa: E402
from shared.config.settings import FeatureConfig  # noqa: E402


def bench_features(bars: int, repeats: int) -> None:
    """Print the CPU microseconds per bar of append and of features after the warm-up."""
    cfg = FeatureConfig()
    data = synthetic_data(bars + cfg.window_bars, 5, 60, None)
    feed = [data.bar(index) for index in range(len(data))]
    clock = session_clock()
    best_append, best_total, best_filling = float("inf"), float("inf"), float("inf")
    for _ in range(repeats):
        for with_features in (False, True):
            state = IncrementalFeatures(cfg, SessionLevelTracker(clock, LevelRules(30, 60)))
            started = time.process_time()
            for bar in feed[: cfg.window_bars]:
                state.append(bar)
                state.features()
            best_filling = min(best_filling, time.process_time() - started)
            started = time.process_time()
            if with_features:
                for bar in feed[cfg.window_bars :]:
                    state.append(bar)
                    state.features()
                best_total = min(best_total, time.process_time() - started)
            else:
                for bar in feed[cfg.window_bars :]:
                    state.append(bar)
                best_append = min(best_append, time.process_time() - started)
    best_features = best_total - best_append
    per_bar = 1e6 / bars
    print(f"features of {bars} bars after a {cfg.window_bars}-bar warm-up, best of {repeats} "
          f"(CPU time per bar): append {best_append * per_bar:.1f} us  features "
          f"{best_features * per_bar:.1f} us  total {(best_append + best_features) * per_bar:.1f}"
          f" us  (load {os.getloadavg()[0]:.2f})")
    print(f"while the window fills (its first {cfg.window_bars} bars): append + features "
          f"{best_filling * 1e6 / cfg.window_bars:.1f} us per bar")


if __name__ == "__main__":
    bench_features(int(sys.argv[1]) if len(sys.argv) > 1 else 5000,
                   int(sys.argv[2]) if len(sys.argv) > 2 else 3)
