"""Benchmark journal retention: a week of 5-second bars' journal rows, retention on vs off.

The decision rows are the real engine's: a few thousand 5-second synthetic bars go through the
backtester's engine (the live bot's decision code) with every decision kept, and their
features/votes/memory JSON is cycled through the week with each bar's time. Each simulated day
journals 16,560 decisions (a 23-hour CME session of 5-second bars), 60 events, 24 LLM calls
(prompts of a typical size) and 30 alerts with their attempts, through the real store
functions, into two journals: one never pruned, one where the nightly maintenance
(``bot/maintenance/nightly.py``: retention with the Parquet archive, a backup, the size record)
runs at each day's end with every table kept ``--keep-days`` days. Prints per day and at the
end: journal size (pages in use, file, WAL), rows, the archive's size, the longest delete
transaction (what a concurrently writing bot could wait) and the nightly run's time; and the
steady state the default retention settles at. Asserts nothing.

Usage: ``python benchmarks/bench_retention.py [--days 7] [--keep-days 2] [--sample-bars 3000]``
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.data import synthetic_data  # noqa: E402
from bot.backtest.engine_run import run_engine  # noqa: E402
from bot.maintenance.nightly import run_maintenance  # noqa: E402
from shared.config.maintenance import MaintenanceConfig  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402
from shared.domain.alerts import DeliveryStatus  # noqa: E402
from shared.domain.models import DecisionRecord  # noqa: E402
from shared.persistence import (  # noqa: E402
    alerts_store,
    db_size_store,
    journal_store,
    llm_store,
    ops_store,
    retention_store,
)
from shared.persistence.alerts_store import Delivery  # noqa: E402
from shared.persistence.db import open_database, write_transaction  # noqa: E402

BAR_S = 5
BARS_PER_DAY = 23 * 3600 // BAR_S  # 16,560
LIMITS = llm_store.Limits(call_quota=100_000, cost_limit_usd=1e6, warn_fraction=0.8)
PROMPT = ("Market context (untrusted data):\n" + "bar 5001.25 5002.00 5000.75 5001.50 812\n" * 60)


def engine_sample(bars: int) -> list[DecisionRecord]:
    """The engine's decisions over ``bars`` synthetic 5-second bars."""
    settings = settings_from_mapping({"feed": {"bar_seconds": BAR_S}})
    outcome = run_engine(settings, synthetic_data(bars, 7, BAR_S, None), keep_decisions=True,
                         skip_idle_bars=False)
    return list(outcome.decisions)


def write_day(conns: list, sample: list[DecisionRecord], day: int) -> None:
    """One trading day of journal rows into every journal of ``conns``."""
    start = sample[0].ts + timedelta(days=day)
    for hour in range(23):
        first = hour * 720
        records = [replace(sample[(first + i) % len(sample)],
                           ts=start + timedelta(seconds=BAR_S * (first + i)))
                   for i in range(720)]
        written = records[-1].ts
        for conn in conns:
            with write_transaction(conn):
                journal_store.insert_decisions(conn, records, written)
                for k in range(60 // 23 + (hour < 60 % 23)):  # 60 events over 23 hours
                    ops_store.insert_event(conn, written, "llm_trigger", "info",
                                           f"trigger {hour}.{k}", {"reason": "volatility"},
                                           written)
    for conn in conns:
        _calls_and_alerts(conn, start, day)


def _calls_and_alerts(conn, start, day: int) -> None:
    with write_transaction(conn):
        for hour in range(24):
            at = start + timedelta(hours=hour)
            request = llm_store.CallRequest(at, at.date().isoformat(), "volatility", "{}", None,
                                            "bedrock", "model", "v3", f"h{day}.{hour}",
                                            "You are a careful futures analyst.", PROMPT)
            llm_store.reserve_call(conn, request, 0.002, LIMITS)
        for k in range(30):
            at = start + timedelta(minutes=45 * k)
            alert_id = alerts_store.insert_delivery(conn, Delivery(
                "trade_closed", f"d{day}.{k}", "telegram", "on", "Trade closed: +$12.50",
                at, at))
            if alert_id is not None:
                alerts_store.record_attempt(conn, alert_id, 1, 1, at, True, 180.0, "")
                alerts_store.finish_delivery(conn, alert_id, DeliveryStatus.SENT, 1, 1, "", at)


def used_bytes(conn) -> int:
    pages = db_size_store.page_figures(conn)
    return pages.page_size * (pages.page_count - pages.freelist_count)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def mb(size: float) -> str:
    return f"{size / 1024 / 1024:7.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--keep-days", type=int, default=2)
    parser.add_argument("--sample-bars", type=int, default=3000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    began = time.perf_counter()
    sample = engine_sample(args.sample_bars)
    print(f"engine sample: {len(sample)} decisions from {args.sample_bars} bars in "
          f"{time.perf_counter() - began:.1f} s")
    keep = args.keep_days
    config = MaintenanceConfig(decisions_days=keep, events_days=keep, llm_calls_days=keep,
                               alerts_days=keep, backup_keep=2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "on").mkdir()
        off_db, on_db = folder / "off.db", folder / "on" / "trader.db"
        off, on = open_database(off_db), open_database(on_db)
        per_day_bytes = []
        print(f"{'day':>3} {'off: in use':>12} {'on: in use':>12} {'on: file':>11} "
              f"{'archive':>11} {'longest delete':>15} {'nightly':>8}")
        for day in range(args.days):
            before = used_bytes(off)
            write_day([off, on], sample, day)
            per_day_bytes.append(used_bytes(off) - before)
            now = sample[0].ts + timedelta(days=day + 1)
            started = time.perf_counter()
            report = run_maintenance(on_db, config, now)
            took = time.perf_counter() - started
            print(f"{day + 1:>3} {mb(used_bytes(off))} {mb(used_bytes(on))} "
                  f"{mb(on_db.stat().st_size)} {mb(folder_bytes(folder / 'on' / 'archive'))} "
                  f"{report.longest_write_ms:12.0f} ms {took:6.1f} s")
        rows_off = {t: retention_store.row_count(off, t) for t in retention_store.RETAINED}
        rows_on = {t: retention_store.row_count(on, t) for t in rows_off}
        print(f"rows off: {rows_off}")
        print(f"rows on:  {rows_on}")
        wal = Path(f"{on_db}-wal")
        print(f"after {args.days} days: retention off {mb(off_db.stat().st_size).strip()} "
              f"file; retention on ({keep} days) {mb(on_db.stat().st_size).strip()} file, "
              f"WAL {mb(wal.stat().st_size if wal.exists() else 0).strip()}, archive "
              f"{mb(folder_bytes(folder / 'on' / 'archive')).strip()}, backups "
              f"{mb(folder_bytes(folder / 'on' / 'backups')).strip()}")
        day_bytes = sum(per_day_bytes) / len(per_day_bytes)
        default = MaintenanceConfig()
        print(f"one day of journal: {mb(day_bytes).strip()}; default retention "
              f"(decisions {default.decisions_days} days) settles near "
              f"{mb(day_bytes * (default.decisions_days + 1)).strip()} in use")
        off.close()
        on.close()
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
