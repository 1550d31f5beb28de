"""Benchmark: the review's power at the power test's scale, and its noise rate.

The market and review of ``tests/bot/learning/test_review_power.py`` (1-minute synthetic bars
with ``open_high_vol_longs_fast`` planted (``--edge``), loose risk, 12 days mined, 5 gated, 8
trades a bucket), journaled for ``--days`` trading days from 2025-03-03 and reviewed every
trading day from 2025-03-31 (``--reviews`` reviews), so candidates on probation gather the new
days' trades (``--days 21 --reviews 1``: the power test's single review). Prints one JSON
object per seed: the reviews, the rules proposed and those that passed (on their first gate or
after probation), the first review that passed the planted lock (longs in the open bucket with
high volatility) and the probations by how they ended; then one line of totals over the
seeds. ``--plain``: the same market with nothing planted (every pass is then a false
discovery). Asserts nothing.
Usage: ``python benchmarks/bench_review_probation.py [--seeds 1 2 3] [--days 36]
[--reviews 15] [--plain] [--probation-trades N] [--edge NAME] [--permutations N]
[--work FOLDER]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.engine_run import session_clock  # noqa: E402
from bot.backtest.planted_edge import plant, planted_edge  # noqa: E402
from bot.learning.review import review_day  # noqa: E402
from shared.persistence import probation_store, rules_store  # noqa: E402
from shared.persistence.db import open_database  # noqa: E402
from tests.bot.learning.journal import (  # noqa: E402
    engine_data,
    multi_day_bars,
    multi_day_settings,
    seed_journal,
)

FIRST_REVIEW = date(2025, 3, 31)
LEARNING = {"min_sample": 8, "lookback_days": 12, "backtest_days": 5}
EDGE = "open_high_vol_longs_fast"
PERMUTATIONS = 2000  # learning.gate_permutations' default


def is_exact(params_json: str, kind: str) -> bool:
    """The planted lock: longs in the open bucket with high volatility, any trend."""
    bucket = json.loads(params_json)["bucket"]
    return (kind == "lock_bucket" and bucket["side"] == "long"
            and bucket["time_bucket"] == "open" and bucket["volatility"] == "high")


def review_seed(work: Path, seed: int, days: int, reviews: int, planted: bool,
                probation_trades: int = 0, edge_name: str = EDGE,
                permutations: int = PERMUTATIONS) -> dict[str, Any]:
    """Journal one seed's market and review it daily; summarise the proposals."""
    learning = LEARNING | {"probation_trades": probation_trades,
                           "gate_permutations": permutations}
    settings = multi_day_settings({"learning": learning, "engine": {"bars_retention_days": 14}})
    edge = planted_edge(edge_name if planted else None)
    data = plant(engine_data(multi_day_bars(seed, days)), edge, settings.features,
                 settings.regime)
    db = work / f"seed{seed}{'' if planted else '-plain'}.db"
    db.unlink(missing_ok=True)
    seed_journal(db, settings, [data.bar(i) for i in range(len(data))])
    clock = session_clock()
    last = clock.trading_days_through(FIRST_REVIEW + timedelta(days=2 * days), 4 * days)
    review_days = [d for d in last if d >= FIRST_REVIEW][:reviews]
    conn = open_database(db)
    started = time.perf_counter()
    for day in review_days:
        end = clock.session_bounds(day)[1]
        review_day(conn, settings, day, clock, lambda end=end: end + timedelta(minutes=10))
    seconds = time.perf_counter() - started
    rows = sorted(rules_store.rules(conn, limit=100_000), key=lambda r: r.id)
    probations = probation_store.probations(conn, limit=100_000)
    conn.close()
    passed = [r for r in rows if r.improved]
    exact = [r for r in passed if is_exact(r.params_json, r.kind)]
    first = exact[0] if exact else None
    return {
        "seed": seed, "planted": edge_name if planted else None, "reviews": len(review_days),
        "review_seconds": round(seconds, 1), "proposals": len(rows),
        "passed_count": len(passed),
        # the first gates' raw p-values (before BH): under no edge about 5 % are <= 0.05
        "first_gate_p_values": len(first_gate_p(rows)),
        "first_gate_p_at_most_0_05": sum(p <= 0.05 for p in first_gate_p(rows)),
        "passed": [f"{r.review_day}: {r.summary}"
                   + (" (after probation)" if "probation" in r.backtest else "")
                   for r in passed],
        "planted_lock_passed_on": first.review_day if first else None,
        "planted_lock_gates": [gate_figures(r) for r in rows if is_exact(r.params_json, r.kind)],
        "reviews_until_planted_lock_passed": (review_days.index(
            date.fromisoformat(first.review_day)) + 1) if first else None,
        "probations": dict(Counter(p.status for p in probations)),
        "probation_tests": sum(1 for p in probations if p.status in ("passed", "failed")),
    }


def gate_figures(row: Any) -> dict[str, Any]:
    """One proposal's out-of-sample figures: refused trades, their net, p, q, passed."""
    gate = row.backtest
    keys = ("days", "trades_refused", "refused_net_cents", "improvement_cents", "p_value",
            "q_value", "rules_tested", "passed")
    return {"review_day": row.review_day} | {k: gate.get(k) for k in keys}


def first_gate_p(rows: list[Any]) -> list[float]:
    """The p-values of the proposals' first gates (not the probation tests)."""
    return [float(r.backtest["p_value"]) for r in rows
            if "p_value" in r.backtest and "probation" not in r.backtest]


def totals(results: list[dict[str, Any]]) -> dict[str, Any]:
    """All seeds together: proposals, how many passed (and the share), planted lock passes."""
    proposals = sum(r["proposals"] for r in results)
    passed = sum(r["passed_count"] for r in results)
    return {"seeds": len(results), "proposals": proposals, "passed": passed,
            "passed_share": round(passed / proposals, 4) if proposals else None,
            "first_gate_p_values": sum(r["first_gate_p_values"] for r in results),
            "first_gate_p_at_most_0_05": sum(r["first_gate_p_at_most_0_05"] for r in results),
            "planted_lock_passed_on_seeds": sum(1 for r in results
                                                if r["planted_lock_passed_on"] is not None)}


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--days", type=int, default=36, help="trading days of market per seed")
    parser.add_argument("--reviews", type=int, default=15, help="daily reviews from 2025-03-31")
    parser.add_argument("--plain", action="store_true", help="nothing planted (noise rate)")
    parser.add_argument("--probation-trades", type=int, default=0,
                        help="learning.probation_trades (0 = min_sample, 8)")
    parser.add_argument("--edge", default=EDGE, help="the planted edge (bot/backtest/planted_edge)")
    parser.add_argument("--permutations", type=int, default=PERMUTATIONS,
                        help="learning.gate_permutations")
    parser.add_argument("--work", type=Path, help="folder for the journals (kept)")
    args = parser.parse_args()

    def run(work: Path) -> None:
        results = []
        for seed in args.seeds:
            results.append(review_seed(work, seed, args.days, args.reviews, not args.plain,
                                       args.probation_trades, args.edge, args.permutations))
            print(json.dumps(results[-1]), flush=True)
        print(json.dumps(totals(results)), flush=True)

    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        run(args.work)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder))


if __name__ == "__main__":
    main()
