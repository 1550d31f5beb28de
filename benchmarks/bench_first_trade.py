"""How soon does a first start of the paper bot decide and trade, on the default config?

1. A sweep in bar time: for several seeds and a start every 30 minutes of a Globex session
   (Tuesday 17:00 CT to Wednesday 16:00 CT), the warm-started built-in market goes through
   the backtester (the live decision code, proven equal to the live loop) for 15 minutes after
   "now". Prints the time to the first decision and to the first order (median, 90th
   percentile, share within 15 minutes) by time-of-day bucket, and the trade rate per RTH
   session and overnight over whole days.
2. The real live loop (LiveBot, SQLite journal) on a few starts: warm start duration, time to
   first decision and first order in bar time, and the wall time that makes at speed 1.
3. ``--real``: starts ``python -m bot run`` on the default config at speed 1 (a temp database)
   and waits up to 15 minutes of wall time for the first decision and the first order.
Usage: ``python benchmarks/bench_first_trade.py [--seeds N] [--real]``.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.data import BarData  # noqa: E402
from bot.backtest.engine_run import run_engine, session_clock  # noqa: E402
from bot.runtime.bar_source import open_bar_source, warm_start_bars  # noqa: E402
from shared.config.settings import Settings, settings_from_mapping  # noqa: E402
from shared.domain.models import Bar, Verdict  # noqa: E402
from shared.persistence import codec, journal_store  # noqa: E402
from shared.persistence.db import connect  # noqa: E402
from tests.bot.runtime.first_start import play_first_start  # noqa: E402

CHICAGO = ZoneInfo("America/Chicago")
SESSION_OPEN = datetime(2025, 11, 4, 17, 0, tzinfo=CHICAGO)  # Tuesday 17:00 CT
MINUTES = 15.0


def bars_data(bars: list[Bar], first: int, bar_seconds: int) -> BarData:
    ts_ns = np.array([int(b.ts.timestamp()) * 1_000_000_000 for b in bars], dtype=np.int64)
    columns = [np.array([getattr(b, name) for b in bars]) for name in
               ("open", "high", "low", "close", "volume")]
    return BarData(ts_ns, *columns, bar_seconds=bar_seconds, first=first)


def first_start_in_bar_time(settings: Settings, now: datetime, minutes: float
                            ) -> tuple[float | None, float | None, int]:
    """Seconds from now to the first decision and the first order, and the entries made."""
    source = open_bar_source(settings.feed, None, lambda: now, warm_start_bars(settings))
    end = now + timedelta(minutes=minutes)
    live = []
    for bar in source.bars:
        if bar.ts >= end:
            break
        live.append(bar)
    history = list(source.history)
    outcome = run_engine(settings, bars_data(history + live, len(history),
                                             settings.feed.bar_seconds), keep_decisions=True)
    first_decision = (live[0].ts + timedelta(seconds=settings.feed.bar_seconds) - now
                      ).total_seconds() if live else None
    entries = [d.ts for d in outcome.decisions if d.verdict is Verdict.ENTER]
    first_order = (entries[0] - now).total_seconds() if entries else None
    return first_decision, first_order, len(entries)


def sweep(seeds: int) -> None:
    clock = session_clock()
    by_bucket: dict[str, list[float | None]] = defaultdict(list)
    first_decisions = []
    started = time.perf_counter()
    for seed in range(1, seeds + 1):
        settings = settings_from_mapping({"feed": {"seed": seed}}, env={})
        for slot in range(46):
            now = (SESSION_OPEN + timedelta(minutes=30 * slot, seconds=17)).astimezone(UTC)
            bucket = clock.time_bucket(now).value
            decision_s, order_s, _ = first_start_in_bar_time(settings, now, MINUTES)
            first_decisions.append(decision_s)
            by_bucket[bucket].append(order_s)
    runs = sum(len(v) for v in by_bucket.values())
    print(f"sweep: {runs} first starts ({seeds} seeds x 46 half-hours), "
          f"{time.perf_counter() - started:.0f} s")
    print(f"  first decision: {max(first_decisions):.0f} s after start at the latest "
          f"(every one warm: the warm start fills the indicators)")
    print("  first order after start, bar time = wall time at speed 1:")
    for bucket, values in sorted(by_bucket.items()):
        found = np.array([v for v in values if v is not None]) / 60
        share = len(found) / len(values)
        median = f"{np.median(found):4.1f}" if len(found) else "   -"
        p90 = f"{np.quantile(found, 0.9):4.1f}" if len(found) else "   -"
        print(f"    {bucket:>9}: {share:4.0%} within {MINUTES:g} min, median {median} min, "
              f"90th pct {p90} min ({len(values)} starts)")


def live_loop(count: int) -> None:
    settings = Settings()
    for index in range(count):
        now = (SESSION_OPEN + timedelta(hours=3 + 5 * index, seconds=17)).astimezone(UTC)
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            run = play_first_start(settings, Path(folder) / "trader.db", now, MINUTES)
            seconds = time.perf_counter() - started
        first_order = (f"{(run.first_order - now).total_seconds():.0f} s"
                       if run.first_order else "none")
        print(f"  live loop, start {now.astimezone(CHICAGO):%a %H:%M} CT: {run.history_bars} "
              f"history bars journaled; first decision {(run.first_decision - now).seconds} s "
              f"after start (warming up: {run.first_decision_warming_up}); first order "
              f"{first_order}; {run.entries} entries in {MINUTES:g} min; {seconds:.1f} s of "
              f"compute for {MINUTES:g} min of bars")


def rates(days: int) -> None:
    clock = session_clock()
    settings = Settings()
    rth_counts, overnight_counts = [], []
    for seed in (1, 2, 3):
        now = (SESSION_OPEN + timedelta(minutes=1)).astimezone(UTC)
        source = open_bar_source(settings.feed.model_copy(update={"seed": seed}), None,
                                 lambda now=now: now, warm_start_bars(settings))
        end = now + timedelta(days=days)
        live = []
        for bar in source.bars:
            if bar.ts >= end:
                break
            live.append(bar)
        history = list(source.history)
        outcome = run_engine(settings, bars_data(history + live, len(history), 5))
        days_played = sorted({clock.trading_day(bar.ts) for bar in live[::720]})[:-1]  # whole
        per_day: dict[object, list[int]] = {day: [0, 0] for day in days_played}
        for trade in outcome.trades:
            rth = trade.labels.get("time_bucket") in ("open", "midday", "close")
            day = clock.trading_day(trade.entry_ts)
            if day in per_day:
                per_day[day][0 if rth else 1] += 1
        for rth_count, overnight_count in per_day.values():
            rth_counts.append(rth_count)
            overnight_counts.append(overnight_count)
    print(f"  trades per RTH session (08:30-15:00 CT): median {np.median(rth_counts):.0f}, "
          f"range {min(rth_counts)}-{max(rth_counts)}; per overnight (17:00-08:30 CT): median "
          f"{np.median(overnight_counts):.0f}, range {min(overnight_counts)}-"
          f"{max(overnight_counts)} ({len(rth_counts)} days, 3 seeds, default config)")


def real_run(limit_s: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "trader.db"
        config = Path(folder) / "config.yaml"
        config.write_text("{}\n")
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(config), "--db", str(db)],
            cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        started = time.monotonic()
        first_decision = first_order = None
        try:
            while time.monotonic() - started < limit_s and first_order is None:
                time.sleep(1.0)
                if not db.exists():
                    continue
                conn = connect(db, readonly=True)
                try:
                    rows = journal_store.recent_decisions(conn, 100_000)
                except Exception:  # the schema is being created
                    rows = []
                finally:
                    conn.close()
                if rows and first_decision is None:
                    first_decision = time.monotonic() - started
                if any(row["verdict"] == "enter" for row in rows):
                    first_order = time.monotonic() - started
                    entry = next(r for r in reversed(rows) if r["verdict"] == "enter")
                    print(f"  first order decided at {codec.from_text(entry['ts']):%H:%M:%S} "
                          f"UTC: {entry['action_taken']}")
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"  python -m bot run at speed 1: first decision after "
          f"{first_decision if first_decision is None else round(first_decision)} s of wall "
          f"time, first order after "
          f"{first_order if first_order is None else round(first_order)} s "
          f"(limit {limit_s:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--real", action="store_true",
                        help="also run python -m bot run at speed 1 for up to 15 minutes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sweep(args.seeds)
    print("live loop (LiveBot, SQLite journal), bar time played without waiting:")
    live_loop(3)
    print("trade rate, default config, built-in 5-second market:")
    rates(args.days)
    if args.real:
        print("real process:")
        real_run(MINUTES * 60)


if __name__ == "__main__":
    main()
