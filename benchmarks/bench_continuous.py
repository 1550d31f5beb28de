"""One year of synthetic MES across four quarterly rolls: unadjusted vs adjusted backtests.

The seeded synthetic market is the "true" carry-free price. The front month trades above it
by a carry that jumps at each roll (the live rule: ``ib.roll_days_before_expiry`` before the
third-Friday expiry), so the unadjusted front-month series has four gaps of known size. The
same bars are then back-adjusted and ratio-adjusted with ``shared.domain.continuous``, each
written as an ordinary bar file and run through ``run_backtest`` (loader, bad-print
quarantine, default ensemble) exactly as ``python -m bot backtest --data FILE`` does.
Prints one table (trades, net P&L, max drawdown, bars quarantined, level shifts, the ATR
jump at the rolls) and asserts nothing.
Usage: ``python benchmarks/bench_continuous.py [days] [seed]`` (default 365 days, seed 7).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.ib.contracts import ListedContract, choose_front_month  # noqa: E402
from bot.backtest.continuous_build import adjusted_data, write_series  # noqa: E402
from bot.backtest.data import SYNTHETIC_START, BarData, synthetic_data  # noqa: E402
from bot.backtest.runner import run_backtest  # noqa: E402
from shared.config.backtest_request import BacktestRequest  # noqa: E402
from shared.domain.continuous import Adjustment, RollSplice  # noqa: E402

TICK = 0.25
ROLL_DAYS_BEFORE_EXPIRY = 8  # the IbConfig default the live bot rolls by
# Points the next quarterly trades over the expiring one at each roll (carry at ~4 % a year
# on ~5,000: 5000 * 0.04 / 4 = 50 points), one per roll, in order.
GAPS_POINTS = (45.0, 52.0, 38.0, 60.0, 47.0)
BARS_PER_DAY = 1380  # 23 hours of 1-minute bars (an upper bound: sessions are cut by weekends)
ATR_BARS = 14


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def quarterlies(start: date, years: int = 2) -> list[ListedContract]:
    codes = {3: "H", 6: "M", 9: "U", 12: "Z"}
    return [ListedContract(i, f"MES{codes[m]}{y % 10}", third_friday(y, m))
            for i, (y, m) in enumerate((y, m) for y in range(start.year, start.year + years)
                                       for m in (3, 6, 9, 12))]


def front_month_series(true: BarData) -> tuple[BarData, list[RollSplice]]:
    """The unadjusted front-month bars (true price plus each contract's carry) and its rolls."""
    listed = quarterlies(SYNTHETIC_START.date())
    days = (true.ts_ns // (86_400 * 10**9)).astype(np.int64)
    offsets = np.zeros(len(true))
    rolls: list[RollSplice] = []
    carry, previous = 0.0, None
    for day in np.unique(days):
        when = date(1970, 1, 1) + timedelta(days=int(day))
        chosen = choose_front_month(listed, when, ROLL_DAYS_BEFORE_EXPIRY)
        first = int(np.searchsorted(days, day))
        if previous is not None and chosen.con_id != previous.con_id:
            gap = GAPS_POINTS[len(rolls) % len(GAPS_POINTS)]
            old = float(true.close[first - 1]) + carry
            rolls.append(RollSplice(int(day) * 86_400 * 10**9, previous.local_symbol,
                                    chosen.local_symbol, old, old + gap))
            carry += gap
        offsets[days == day] = carry
        previous = chosen
    shifted = {name: getattr(true, name) + offsets for name in ("open", "high", "low", "close")}
    return replace(true, **shifted), rolls


def atr_jump(data: BarData, rolls: list[RollSplice]) -> float:
    """The largest true range at a roll divided by the median true range (1 = no distortion)."""
    previous = np.concatenate(([data.close[0]], data.close[:-1]))
    true_range = np.maximum(data.high, previous) - np.minimum(data.low, previous)
    at = [int(np.searchsorted(data.ts_ns, r.at_ns)) for r in rolls]
    return float(max(true_range[i] for i in at) / np.median(true_range)) if at else 1.0


def run(path: Path) -> tuple[dict, list[tuple]]:
    """The default ensemble on ``path`` without costs and without a ruin stop: the metrics and
    the trades as (entry time, exit time, side, P&L in points)."""
    request = BacktestRequest(data=str(path), commission_usd=0, slippage_ticks=0,
                              params={"backtest.starting_equity_usd": "10000000"})
    result = run_backtest(request)
    trades = [(t.entry_ts, t.exit_ts, t.side.value, t.exit_price - t.entry_price)
              for t in result.trades]
    return result.metrics, trades


def differing(trades: list[tuple], reference: list[tuple]) -> int:
    """Trades in one run and not in the other (same times, side and points)."""
    return len(set(trades) ^ set(reference))


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 365
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    true = synthetic_data(days * BARS_PER_DAY, seed, 60, SYNTHETIC_START)
    end = SYNTHETIC_START + timedelta(days=days)
    keep = true.ts_ns < int(end.timestamp()) * 10**9
    true = true.slice(0, int(keep.sum()))
    front, rolls = front_month_series(true)
    series = {"true (carry-free)": true, "unadjusted": front,
              "back-adjusted": adjusted_data(front, rolls, Adjustment.BACK_ADJUSTED, TICK),
              "ratio": adjusted_data(front, rolls, Adjustment.RATIO, TICK)}
    print(f"{len(true):,} one-minute bars, {true.ts(0):%Y-%m-%d} to "
          f"{true.ts(len(true) - 1):%Y-%m-%d}, seed {seed}; rolls:")
    for roll in rolls:
        print(f"  {datetime.fromtimestamp(roll.at_ns / 1e9, UTC):%Y-%m-%d} {roll.from_symbol}"
              f" -> {roll.to_symbol}  gap {roll.gap_points:+.2f} points")
    header = (f"{'series':<18} {'trades':>6} {'changed':>11} {'net P&L':>11} "
              f"{'max DD':>10} {'win %':>6} {'quarantined':>11} {'shifts':>6} "
              f"{'TR at roll':>10} {'s':>5}")
    print("default ensemble, no commission or slippage, no ruin stop")
    print(header)
    reference: list[tuple] | None = None
    with tempfile.TemporaryDirectory() as folder:
        for name, data in series.items():
            path = Path(folder) / f"{name.split()[0]}.parquet"
            write_series(path, data)
            started = time.perf_counter()
            m, trades = run(path)
            reference = trades if reference is None else reference
            print(f"{name:<18} {m['trades']:>6} {differing(trades, reference):>11} "
                  f"{m['net_pnl_cents'] / 100:>11,.2f} {m['max_drawdown_cents'] / 100:>10,.2f} "
                  f"{m['win_rate'] * 100:>6.1f} {m['bars_quarantined']:>11} "
                  f"{m['level_shifts']:>6} {atr_jump(data, rolls):>9.1f}x "
                  f"{time.perf_counter() - started:>5.1f}")


if __name__ == "__main__":
    main()
