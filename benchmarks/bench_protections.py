"""Each protection acting on real ES minutes: the 2025 file in ../shared/data through the
backtester (the live decision code), default config, one protection switched on at a time.

Prints, per scenario: trades, net P&L, worst day, the entries each protection refused (decisions
recorded with its rule), and for the release blackout the entries decided within each release's
window with the blackout off and on. docs/protections.md quotes its output.
Usage: ``python benchmarks/bench_protections.py [--data FILE]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.engine_run import run_engine, session_clock  # noqa: E402
from bot.backtest.runner import build_settings, load_data  # noqa: E402
from bot.core.protections import ProtectionRule  # noqa: E402
from bot.core.risk import RiskRule  # noqa: E402
from shared.calendars.releases import SHIPPED_RELEASES, load_releases  # noqa: E402
from shared.config.backtest_request import BacktestRequest  # noqa: E402
from shared.config.protections import ProtectionsConfig  # noqa: E402
from shared.domain.models import Verdict  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / (
    "ES_1min_2025-08-31_2025-11-03_utc.csv")
EVENTS = ("CPI", "NFP", "FOMC")
BLACKOUT = {"blackout_events": EVENTS, "blackout_before_minutes": 45,
            "blackout_after_minutes": 45, "flatten_before_release_minutes": 10}
SCENARIOS: dict[str, dict] = {
    "all off (default)": {},
    "release blackout +-45 min, flatten 10 min before": BLACKOUT,
    "daily profit target $200": {"daily_profit_target_usd": 200},
    "give-back lock 50% of a peak >= $100": {"giveback_pct": 50, "giveback_min_peak_usd": 100},
    "3-session drawdown pause at -$300": {"drawdown_sessions": 3, "drawdown_limit_usd": 300},
    "risk 0.2%/trade, daily loss 0.8%": {"risk_per_trade_pct": 0.2, "daily_loss_limit_pct": 0.8},
    "exposure 200% of equity": {"max_exposure_pct": 200},
}


def _run(settings, data, protections: dict):
    settings = settings.model_copy(update={"protections": ProtectionsConfig(**protections)})
    started = time.perf_counter()
    outcome = run_engine(settings, data, keep_decisions=True)
    return outcome, time.perf_counter() - started


def _worst_day_usd(trades) -> float:
    clock, days = session_clock(), defaultdict(int)
    for trade in trades:
        days[clock.trading_day(trade.exit_ts)] += trade.pnl_net_cents
    return min(days.values(), default=0) / 100


def _in_window(decisions, release, minutes: float) -> list[str]:
    low, high = release.at - timedelta(minutes=minutes), release.at + timedelta(minutes=minutes)
    return [f"{d.ts:%H:%M}" for d in decisions
            if low <= d.ts <= high and d.verdict is Verdict.ENTER]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.data.is_file():
        print(f"skipped: {args.data} is absent")
        return
    request = BacktestRequest(data=str(args.data), tz="UTC")
    settings = build_settings(request)
    data = load_data(request, settings)
    settings = settings.model_copy(update={"feed": settings.feed.model_copy(
        update={"bar_seconds": data.bar_seconds})})
    print(f"{args.data.name}: {len(data) - data.first:,} bars "
          f"{data.ts(data.first):%Y-%m-%d} .. {data.ts(len(data) - 1):%Y-%m-%d}")
    # the protections' own rules, and the risk rules the % of equity limits tighten
    rules = {str(r) for r in ProtectionRule} | {str(RiskRule.DAILY_LOSS), str(RiskRule.SIZE)}
    runs = {}
    for name, protections in SCENARIOS.items():
        outcome, seconds = _run(settings, data, protections)
        runs[name] = outcome
        trades = list(outcome.trades)
        sizes = dict(sorted(Counter(t.contracts for t in trades).items()))
        refused = Counter(d.risk_rule for d in outcome.decisions
                          if d.risk_rule in rules and d.verdict is Verdict.REJECT)
        exits = Counter(d.action_taken for d in outcome.decisions
                        if d.risk_rule in rules and d.verdict is Verdict.EXIT)
        net_usd = sum(t.pnl_net_cents for t in trades) / 100
        print(f"\n{name}: {len(trades)} trades (contracts: count {sizes}), net ${net_usd:,.2f}, "
              f"worst day ${_worst_day_usd(trades):,.2f}, {seconds:.1f} s")
        if refused or exits:
            print(f"  refused entries by rule: {dict(refused)}; exits: {dict(exits)}")
    first, last = data.ts(data.first), data.ts(len(data) - 1)
    releases = [r for r in load_releases(SHIPPED_RELEASES, EVENTS) if first <= r.at <= last]
    off = runs["all off (default)"].decisions
    on = runs["release blackout +-45 min, flatten 10 min before"].decisions
    print("\nentries decided within +-45 min of each release (UTC), blackout off -> on:")
    for release in releases:
        refused = [f"{d.ts:%H:%M}" for d in on if d.risk_rule == ProtectionRule.BLACKOUT
                   and d.verdict is Verdict.REJECT and abs(d.ts - release.at) <= timedelta(
                       minutes=45)]
        print(f"  {release.event:4} {release.at:%Y-%m-%d %H:%M}: "
              f"{_in_window(off, release, 45) or 'none'} -> "
              f"{_in_window(on, release, 45) or 'none'}; refused at {refused or 'none'}")


if __name__ == "__main__":
    main()
