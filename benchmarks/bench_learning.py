"""Benchmark: what learning costs the loop and the night.

Prints (asserts nothing):
- the rules guard per evaluated entry (``evaluate_entry``) with 0, 10 and 100 rules in force;
- the live bot's rules poll (one ``MAX(id)`` query per service pass, DESIGN §4 rule 10);
- a nightly review over eight synthetic trading days of 1-minute bars (mined on the first
  five, each proposal gated out of sample on the last three: two runs and a placebo test) and
  a training export of its trades and LLM calls.
Usage: ``python benchmarks/bench_learning.py``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.engine_run import session_clock  # noqa: E402
from bot.core.rules import RuleBook, evaluate_entry  # noqa: E402
from bot.learning.export_cli import export  # noqa: E402
from bot.learning.review import review_day  # noqa: E402
from shared.domain.models import Side  # noqa: E402
from shared.domain.rules import Bucket, LearnedRule, RuleKind  # noqa: E402
from shared.persistence import rules_store, trade_log_store  # noqa: E402
from shared.persistence.db import open_database, write_transaction  # noqa: E402
from tests.bot.learning.journal import (  # noqa: E402
    REVIEWED_DAY,
    multi_day_bars,
    multi_day_settings,
    seed_journal_with_llm,
)

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
LABELS = {"trend": "range", "volatility": "high", "time_bucket": "open"}


def guard(rules: int, repeats: int = 20_000) -> float:
    """Microseconds per evaluate_entry call with ``rules`` threshold rules in force."""
    book = RuleBook(tuple(LearnedRule(i, RuleKind.RAISE_THRESHOLD, Bucket(None, "range"),
                                      NOW + timedelta(days=1), min_confidence=0.1)
                          for i in range(rules)))
    started = time.perf_counter()
    for _ in range(repeats):
        evaluate_entry(book, Side.LONG, LABELS, 0.8, NOW)
    return (time.perf_counter() - started) / repeats * 1e6


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    for count in (0, 10, 100):
        print(f"rules guard, {count:>3} rules in force: {guard(count):8.2f} us per entry")
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "trader.db"
        settings = multi_day_settings({"learning": {"gate_permutations": 2000}})
        started = time.perf_counter()
        bars = multi_day_bars()
        seed_journal_with_llm(db, settings, bars)
        print(f"seeded journal ({len(bars):,} bars): {time.perf_counter() - started:.2f} s")
        conn = open_database(db)
        started = time.perf_counter()
        for _ in range(1000):
            rules_store.rules_version(conn)
        print(f"rules poll: {(time.perf_counter() - started) * 1000:.1f} us per poll")
        started = time.perf_counter()
        report = review_day(conn, settings, date.fromisoformat(REVIEWED_DAY), session_clock(),
                            lambda: datetime.now(UTC))
        print(f"review (5 days mined, 3 gated): {time.perf_counter() - started:.2f} s, "
              f"{len(report.proposed)} proposals gated out of sample "
              f"({sum(p['passed_out_of_sample'] for p in report.proposed)} passed)")
        with write_transaction(conn):
            run_id = trade_log_store.start_export_run(conn, "bench", {}, 0, datetime.now(UTC))
        started = time.perf_counter()
        result = export(conn, run_id, settings, datetime(2025, 3, 1, tzinfo=UTC), None,
                        Path(folder) / "t.jsonl", Path(folder) / "t.audit.jsonl", None, None)
        print(f"training export: {time.perf_counter() - started:.3f} s for {result['trades']} "
              f"trades, {result['llm_calls']} LLM calls ({result['training_lines']} training, "
              f"{result['heldout_lines']} held-out lines)")
        conn.close()


if __name__ == "__main__":
    main()
