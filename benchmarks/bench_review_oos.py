"""Benchmark: the nightly review's proposals on real ES bars, in sample and on the days after.

Journals the backtest engine's run of ``ES_1min_2025-08-31_2025-11-03_utc.csv`` (default
settings, 1-minute bars; live = backtest parity makes it the live bot's journal), reviews the
12 trading days ending 2025-10-21 in order (default learning settings), then replays the 5
trading days after each proposal's review day with and without it (no other rule) and prints
one JSON object: proposals, the in-sample gain the review saw, the out-of-sample gate's figure,
the next five days' figure, how many passed (``improved``) and what they made, and the
in-sample / next-days correlation. Asserts nothing. Uses only APIs that the review had before
the out-of-sample gate too, so ``PYTHONPATH=<older checkout> python benchmarks/...`` measures
the earlier review on the same journal. Needs ``../shared/data`` (or ``--data FILE``).
Other files: ``--tz`` names the zone of naive times (``America/New_York`` for the ET files),
the bar size is the file's own, ``--last-review``/``--reviews`` pick the reviewed days and
``--lookback-days``/``--backtest-days`` the review's windows (a file shorter than the default
20 + 4 days needs smaller ones). Next days past the file's end are not counted (fewer than 5).
Usage: ``python benchmarks/bench_review_oos.py [--data FILE] [--tz ZONE] [--last-review DAY]
[--reviews N] [--lookback-days N] [--backtest-days N] [--work FOLDER]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bot.backtest.data import BarData, file_data  # noqa: E402
from bot.backtest.engine_run import run_engine, session_clock  # noqa: E402
from bot.core.rules import RuleBook  # noqa: E402
from bot.learning.gate import bar_data, run_summary  # noqa: E402
from bot.learning.review import review_day  # noqa: E402
from shared.config.settings import Settings, settings_from_mapping  # noqa: E402
from shared.domain.rules import parse_rule  # noqa: E402
from shared.persistence import journal_store, learning_queries, rules_store  # noqa: E402
from shared.persistence.db import open_database, write_transaction  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / \
    "ES_1min_2025-08-31_2025-11-03_utc.csv"
LAST_REVIEW = date(2025, 10, 21)
REVIEWS = 12
FORWARD_DAYS = 5
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def journal(path: Path, data: BarData, settings: Settings) -> int:
    """The engine's run of the bars as a live bot's journal: bars, decisions, trades; returns
    the number of trades."""
    outcome = run_engine(settings, data, keep_decisions=True)
    conn = open_database(path)
    now = datetime.now(UTC)
    with write_transaction(conn):
        journal_store.insert_bars(conn, settings.instrument.symbol,
                                  [data.bar(i) for i in range(len(data))])
        journal_store.insert_decisions(conn, list(outcome.decisions), now)
        for trade in outcome.trades:
            journal_store.insert_trade(conn, trade, now)
    conn.close()
    return len(outcome.trades)


def forward_cents(conn: Any, settings: Settings, row: Any) -> int:
    """Net P&L with the rule minus without over the trading days after its review day."""
    clock = session_clock()
    day = date.fromisoformat(row.review_day)
    symbol = settings.instrument.symbol
    last_bar = learning_queries.bars_before(conn, symbol, FAR, 1)[-1].ts
    after = [d for d in clock.trading_days_through(day + timedelta(days=10), 12)
             if day < d and clock.session_bounds(d)[0] <= last_bar][:FORWARD_DAYS]
    if not after:
        return 0
    start, stop = clock.session_bounds(after[0])[0], clock.session_bounds(after[-1])[1]
    bars = learning_queries.bars_between(conn, symbol, start, stop)
    warm = learning_queries.bars_before(conn, symbol, start, settings.features.window_bars)
    data = bar_data(warm + bars, len(warm))
    rule = parse_rule(row.id, row.kind, row.params_json, FAR)
    return (run_summary(settings, data, RuleBook((rule,)))["net_pnl_cents"]
            - run_summary(settings, data, RuleBook())["net_pnl_cents"])


def in_sample_cents(row: Any) -> tuple[int | None, int | None]:
    """(in-sample gain, out-of-sample gate gain) as this review version stored them."""
    inside = row.evidence.get("in_sample")
    if inside is None:  # before the split: the gate ran on the days it was mined from
        return row.backtest.get("improvement_cents"), None
    return inside["estimated_improvement_cents"], row.backtest.get("improvement_cents")


def measure(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    data = file_data(args.data, args.tz, None, 0.25)
    learning: dict[str, Any] = {}
    if args.lookback_days:
        learning["lookback_days"] = args.lookback_days
    if args.backtest_days:
        learning["backtest_days"] = args.backtest_days
    settings = settings_from_mapping({"feed": {"bar_seconds": data.bar_seconds},
                                      "learning": learning})
    base = work / "journal.db"
    if not base.exists():
        journal(base, data, settings)
    db = work / "reviewed.db"
    shutil.copy(base, db)
    conn = open_database(db)
    clock = session_clock()
    for day in clock.trading_days_through(args.last_review, args.reviews):
        end = clock.session_bounds(day)[1]
        review_day(conn, settings, day, clock, lambda end=end: end + timedelta(minutes=10))
    rows = sorted(rules_store.rules(conn), key=lambda r: r.id)
    trades = len(learning_queries.review_trades(conn, datetime(2000, 1, 1, tzinfo=UTC), FAR))
    figures = [(row, *in_sample_cents(row), forward_cents(conn, settings, row)) for row in rows]
    conn.close()
    passed = [f for f in figures if f[0].improved]
    paired = [(f[1], f[3]) for f in figures if f[1] is not None]
    sizes = sorted(f[0].evidence.get("trades", 0) for f in figures)

    def usd(values: list[int | None]) -> float:
        return round(sum(v or 0 for v in values) / 100, 2)

    return {
        "data": args.data.name, "bar_seconds": data.bar_seconds,
        "lookback_days": settings.learning.lookback_days,
        "backtest_days": settings.learning.backtest_days,
        "journal_trades": trades, "reviews": args.reviews,
        "last_review": args.last_review.isoformat(),
        "proposals": len(figures),
        "median_bucket_trades": sizes[len(sizes) // 2] if sizes else None,
        "in_sample_usd": usd([f[1] for f in figures]),
        "gate_out_of_sample_usd": usd([f[2] for f in figures]),
        f"next_{FORWARD_DAYS}_days_usd": usd([f[3] for f in figures]),
        "passed_or_improved": len(passed),
        "passed_in_sample_usd": usd([f[1] for f in passed]),
        f"passed_next_{FORWARD_DAYS}_days_usd": usd([f[3] for f in passed]),
        "in_sample_vs_next_days_correlation": round(float(np.corrcoef(
            *zip(*paired, strict=True))[0, 1]), 2) if len(paired) > 2 else None,
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--tz", default="UTC", help="zone of the file's naive times")
    parser.add_argument("--last-review", type=date.fromisoformat, default=LAST_REVIEW)
    parser.add_argument("--reviews", type=int, default=REVIEWS, help="trading days reviewed")
    parser.add_argument("--lookback-days", type=int, help="learning.lookback_days")
    parser.add_argument("--backtest-days", type=int, help="learning.backtest_days")
    parser.add_argument("--work", type=Path, help="folder kept between runs (the journal)")
    args = parser.parse_args()
    if not args.data.is_file():
        sys.exit(f"skipped: {args.data} not found (the shared real-data folder is absent)")
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(measure(args.work, args), indent=1))
        return
    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(measure(Path(folder), args), indent=1))


if __name__ == "__main__":
    main()
