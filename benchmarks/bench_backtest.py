"""Benchmark the backtester against backtesting.py on the same synthetic 1-minute bars.

Runs, in one process and on the same bars: ``rsi_macd_bracket`` through our backtester,
the same strategy in backtesting.py (a dev/benchmark-only dependency), and the full default
pipeline (TradingEngine: features, regime, ensemble, risk, paper broker). Prints bars per
second for each, the ratios and the peak memory. Asserts nothing.
Usage: ``python benchmarks/bench_backtest.py [bars]`` (default 1,000,000).
"""

from __future__ import annotations

import logging
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.backtest.data import BarData, synthetic_data  # noqa: E402
from bot.backtest.engine_run import run_engine, session_clock  # noqa: E402
from bot.backtest.reference import run_rsi_macd_bracket  # noqa: E402
from bot.core.strategies.rsi_macd_bracket import RsiMacdBracketParams, signals  # noqa: E402
from shared.config.settings import settings_from_mapping  # noqa: E402
from shared.domain.instruments import get_instrument  # noqa: E402

TICK = 0.25


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_ours(data: BarData) -> tuple[float, int]:
    """rsi_macd_bracket through our backtester; return (seconds, trades)."""
    started = time.perf_counter()
    outcome = run_rsi_macd_bracket(data, RsiMacdBracketParams(), get_instrument("MES"), 0, 0, 1)
    return time.perf_counter() - started, len(outcome.trades)


def bench_backtesting_py(data: BarData) -> tuple[float, int]:
    """The same strategy in backtesting.py (indicators vectorised in init, as it is meant)."""
    seconds, trades = _run_backtesting_py(data)
    return seconds, len(trades)


def backtesting_py_trades(data: BarData) -> list[list]:
    """backtesting.py's trades as [entry time, exit time, entry price, exit price, side]."""
    _, trades = _run_backtesting_py(data)
    return [[row.EntryTime.isoformat(), row.ExitTime.isoformat(), float(row.EntryPrice),
             float(row.ExitPrice), "long" if row.Size > 0 else "short"]
            for row in trades.itertuples()]


def _run_backtesting_py(data: BarData) -> tuple[float, pd.DataFrame]:
    from backtesting import Backtest, Strategy

    params = RsiMacdBracketParams()
    frame = pd.DataFrame(
        {"Open": data.open, "High": data.high, "Low": data.low, "Close": data.close,
         "Volume": data.volume},
        index=pd.DatetimeIndex(data.ts_ns, tz="UTC"),
    )

    class RsiMacdBracket(Strategy):
        def init(self) -> None:
            def direction_of(high, low, close):
                return signals(np.asarray(high), np.asarray(low), np.asarray(close), params,
                               TICK)[0]

            def stop_ticks_of(high, low, close):
                return signals(np.asarray(high), np.asarray(low), np.asarray(close), params,
                               TICK)[1]

            self.direction = self.I(direction_of, self.data.High, self.data.Low,
                                    self.data.Close, plot=False)
            self.stop_ticks = self.I(stop_ticks_of, self.data.High, self.data.Low,
                                     self.data.Close, plot=False)

        def next(self) -> None:
            side = self.direction[-1]
            if side == 0 or self.position or self.orders:
                return
            close = self.data.Close[-1]
            stop = self.stop_ticks[-1] * TICK
            if side > 0:
                self.buy(size=1, sl=close - stop, tp=close + 2 * stop)
            else:
                self.sell(size=1, sl=close + stop, tp=close - 2 * stop)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = Backtest(frame, RsiMacdBracket, cash=1e9, commission=0.0, margin=1.0,
                        trade_on_close=False, exclusive_orders=False)
        started = time.perf_counter()
        stats = test.run()
    return time.perf_counter() - started, stats["_trades"]


def bench_pipeline(data: BarData) -> tuple[float, int, int]:
    """The full default pipeline; return (seconds, trades, bars evaluated by the engine)."""
    settings = settings_from_mapping({"feed": {"bar_seconds": 60}}, env={})
    session_clock()
    started = time.perf_counter()
    outcome = run_engine(settings, data)
    return time.perf_counter() - started, len(outcome.trades), outcome.bars_evaluated


def main() -> None:
    bars = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    data = synthetic_data(bars, seed=7, bar_seconds=60, start=None)
    print(f"{bars:,} synthetic 1-minute bars generated in {time.perf_counter() - started:.1f} s "
          f"({data.ts(0):%Y-%m-%d} to {data.ts(bars - 1):%Y-%m-%d})")
    ours_s, ours_trades = bench_ours(data)
    print(f"ours, rsi_macd_bracket:        {bars / ours_s:>12,.0f} bars/s  ({ours_s:.2f} s, "
          f"{ours_trades} trades)  peak RSS {peak_rss_mb():,.0f} MB")
    theirs_s, theirs_trades = bench_backtesting_py(data)
    print(f"backtesting.py, same strategy: {bars / theirs_s:>12,.0f} bars/s  ({theirs_s:.2f} s, "
          f"{theirs_trades} trades)  peak RSS {peak_rss_mb():,.0f} MB")
    full_s, full_trades, evaluated = bench_pipeline(data)
    print(f"ours, full default pipeline:   {bars / full_s:>12,.0f} bars/s  ({full_s:.2f} s, "
          f"{full_trades} trades, {evaluated:,} bars evaluated by the engine)  "
          f"peak RSS {peak_rss_mb():,.0f} MB")
    print(f"ratio rsi_macd_bracket / backtesting.py: {theirs_s / ours_s:.2f}x (target >= 3x)")
    print(f"ratio full pipeline / backtesting.py:    {theirs_s / full_s:.2f}x (target >= 1x)")
    print(f"peak memory (whole process): {peak_rss_mb():,.0f} MB (target <= 2048 MB)")


if __name__ == "__main__":
    main()
