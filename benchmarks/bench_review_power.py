"""Benchmark: the nightly review's power on the planted-edge market, and its noise rate.

For each seed, journals the backtest engine's run of the synthetic market with the
``open_high_vol_longs`` edge planted (longs in the RTH open bucket with high volatility lose
about 1 R), the way ``bench_review_oos`` journals a real file (live = backtest parity makes it
the live bot's journal), then reviews the trading days in order from the first one with a full
mining + gate window (default learning settings unless overridden). Prints one JSON object:
per seed, the first review day that proposed the planted rule (a refusing rule for longs, or
any side, keyed on the open bucket and/or high volatility), whether it passed out of sample,
how many trading days of data that took, the first day a planted rule passed, and how many
other (non-planted) proposals passed. ``--plain`` runs the same on the market with nothing
planted (every pass is then a false discovery). Passes include rules proposed after probation
(``learning.probation_reviews``; ``probation`` counts the candidates by how their probation
ended). Asserts nothing.
Usage: ``python benchmarks/bench_review_power.py [--seeds 1 2 3] [--days 40] [--plain]
[--backtest-days 4] [--work FOLDER]``.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_review_oos import journal  # noqa: E402  (its sibling: the same engine-run journal)

from bot.backtest.data import BarData, synthetic_data  # noqa: E402
from bot.backtest.engine_run import session_clock  # noqa: E402
from bot.backtest.planted_edge import plant, planted_edge  # noqa: E402
from bot.learning.review import review_day  # noqa: E402
from shared.config.settings import Settings, settings_from_mapping  # noqa: E402
from shared.domain.rules import RuleKind, parse_rule  # noqa: E402
from shared.persistence import probation_store, rules_store  # noqa: E402
from shared.persistence.db import open_database  # noqa: E402

EDGE = "open_high_vol_longs"
BAR_SECONDS = 60
BARS_PER_DAY = 1380  # one CME Globex session of 1-minute bars
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def market(seed: int, days: int, settings: Settings, planted: bool) -> BarData:
    """``days`` sessions of the seeded synthetic market, the edge planted unless ``planted``
    is False."""
    data = synthetic_data(BARS_PER_DAY * days, seed, BAR_SECONDS, None)
    edge = planted_edge(EDGE if planted else None)
    return plant(data, edge, settings.features, settings.regime)


def is_planted(kind: str, params_json: str) -> bool:
    """A refusing rule for longs (or any side) keyed on the planted condition: the open bucket
    and/or high volatility, no other time bucket or volatility label."""
    rule = parse_rule(0, kind, params_json, FAR)
    if rule.kind not in (RuleKind.LOCK_BUCKET, RuleKind.RAISE_THRESHOLD):
        return False
    bucket = rule.bucket
    side_ok = bucket.side is None or bucket.side.value == "long"
    labels_ok = bucket.volatility in (None, "high") and bucket.time_bucket in (None, "open")
    return side_ok and labels_ok and (bucket.volatility == "high" or bucket.time_bucket == "open")


def is_exact(params_json: str) -> bool:
    """The planted condition itself: the open bucket and high volatility (any trend)."""
    bucket = json.loads(params_json)["bucket"]
    return bucket["time_bucket"] == "open" and bucket["volatility"] == "high"


def review_seed(work: Path, seed: int, days: int, settings: Settings,
                planted: bool) -> dict[str, Any]:
    """Journal one seed's market, review each day with a full window, and summarise."""
    db = work / f"seed{seed}{'' if planted else '-plain'}.db"
    db.unlink(missing_ok=True)
    data = market(seed, days, settings, planted)
    trades = journal(db, data, settings)
    clock = session_clock()
    last = clock.trading_day(data.ts(len(data) - 1))
    learning = settings.learning
    window = learning.lookback_days + learning.backtest_days
    all_days = clock.trading_days_through(last, days + 5)
    all_days = [d for d in all_days if d >= clock.trading_day(data.ts(0))]
    reviewable = all_days[window - 1:-1] if len(all_days) > window else []  # last may be partial
    conn = open_database(db)
    started = time.perf_counter()
    for day in reviewable:
        end = clock.session_bounds(day)[1]
        review_day(conn, settings, day, clock, lambda end=end: end + timedelta(minutes=10))
    seconds = time.perf_counter() - started
    rows = sorted(rules_store.rules(conn), key=lambda r: r.id)
    probation = Counter(p.status for p in probation_store.probations(conn, limit=100_000))
    conn.close()
    planted_rows = [r for r in rows if is_planted(r.kind, r.params_json)]
    planted_passed = [r for r in planted_rows if r.improved]
    others = [r for r in rows if r not in planted_rows]
    first = planted_rows[0] if planted_rows else None
    first_pass = planted_passed[0] if planted_passed else None

    def days_to(row: Any) -> int | None:
        return None if row is None else all_days.index(
            datetime.fromisoformat(row.review_day).date()) + 1

    return {
        "seed": seed, "planted": planted, "trading_days": len(all_days), "trades": trades,
        "reviews": len(reviewable), "review_seconds": round(seconds, 1),
        "proposals": len(rows),
        "planted_proposals": len(planted_rows),
        "first_planted_day": first.review_day if first else None,
        "first_planted_rule": first.summary if first else None,
        "first_planted_passed": bool(first.improved) if first else None,
        "first_planted_q": first.backtest.get("q_value") if first else None,
        "days_to_first_planted": days_to(first),
        "first_planted_pass_day": first_pass.review_day if first_pass else None,
        "first_planted_pass_rule": first_pass.summary if first_pass else None,
        "days_to_first_planted_pass": days_to(first_pass),
        "planted_passed": len(planted_passed),
        "exact_proposals": sum(1 for r in planted_rows if is_exact(r.params_json)),
        "exact_passed": sum(1 for r in planted_passed if is_exact(r.params_json)),
        "planted_passed_rules": [f"{r.review_day}: {r.summary}" for r in planted_passed],
        "other_proposals": len(others),
        "other_passed": sum(1 for r in others if r.improved),
        "other_passed_rules": [r.summary for r in others if r.improved],
        "probation": dict(probation),
        "planted_passed_on_probation": sum(1 for r in planted_passed if "probation" in r.backtest),
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--days", type=int, default=40, help="trading days of market per seed")
    parser.add_argument("--plain", action="store_true", help="nothing planted (noise rate)")
    parser.add_argument("--backtest-days", type=int, help="learning.backtest_days (gate days)")
    parser.add_argument("--lookback-days", type=int, help="learning.lookback_days")
    parser.add_argument("--work", type=Path, help="folder for the journals (kept)")
    args = parser.parse_args()
    learning: dict[str, Any] = {}
    engine: dict[str, Any] = {}
    if args.backtest_days:
        learning["backtest_days"] = args.backtest_days
        engine["bars_retention_days"] = max(7, 2 * args.backtest_days + 7)  # gate spans weekends
    if args.lookback_days:
        learning["lookback_days"] = args.lookback_days
    settings = settings_from_mapping({"feed": {"bar_seconds": BAR_SECONDS},
                                      "learning": learning, "engine": engine})

    def run(work: Path) -> None:
        results = [review_seed(work, seed, args.days, settings, not args.plain)
                   for seed in args.seeds]
        print(json.dumps({"edge": None if args.plain else EDGE,
                          "learning": settings.learning.model_dump(
                              include={"lookback_days", "backtest_days", "min_sample",
                                       "gate_alpha", "min_losses"}),
                          "seeds": results}, indent=1))

    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        run(args.work)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder))


if __name__ == "__main__":
    main()
