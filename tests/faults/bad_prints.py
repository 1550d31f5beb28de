"""Bad-print fault scenarios: one replay file with two bad prints, played live and backtested.

The file is seeded synthetic minute bars in which, two minutes into a long, one bar prints OHLC
0.25 (the stop would fill at $0), and later, inside another position, one bar prints a high of
50000. ``bad_print_replay`` plays it through the real ``python -m bot run`` (paper, replay) and
through the backtester, and reports: trades filled at a bad price, ``bad_bar`` events, whether
live = backtest, and what the same backtest does with the filter off (the damage it prevents).
The tests in ``test_bad_print_faults.py`` assert on the result; ``benchmarks/bench_faults.py``
prints it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from bot.backtest.runner import BacktestResult, run_backtest
from shared.config.backtest_request import BacktestRequest
from shared.domain.models import Bar, ExitReason, Side
from shared.persistence import journal_store, ops_store
from tests.bot.backtest.conftest import minute_bars
from tests.integration.botproc import heartbeat, query, start_bot, write_config

BARS = 3000
SEED = 5
RUN_TIMEOUT_S = 240
ACTIVE_RISK = {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1,
               "max_hold_minutes": 30}
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class BadPrintResult:
    """What the bad prints did, live and in the backtest, and without the filter."""

    fault: str
    survived: bool
    bad_price_fills: int  # live and backtest trades filled at a bad price (must be 0)
    bad_bar_events: int  # quarantined bars journaled by the live bot
    parity: bool  # live trades == backtest trades
    unfiltered_worst_trade_cents: int  # the backtest's worst trade with the filter off
    unfiltered_bad_fills: int  # its bad_fill alarms
    detail: str = ""


def write_bars(path: Path, bars: list[Bar]) -> Path:
    rows = ["timestamp,open,high,low,close,volume"]
    rows += [f"{b.ts:%Y-%m-%d %H:%M:%S},{b.open},{b.high},{b.low},{b.close},{b.volume:g}"
             for b in bars]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def config_for(folder: Path, data: Path, filtered: bool = True) -> Path:
    feed = {"source": "replay", "replay_path": str(data), "replay_timezone": "UTC",
            "bar_seconds": 60, "speed": 100_000, "max_bars": BARS - 2,
            "bad_print_filter": filtered}
    name = "config.yaml" if filtered else "unfiltered.yaml"
    return write_config(folder, name, {"feed": feed, "risk": ACTIVE_RISK,
                                       "engine": {"heartbeat_seconds": 0.5}})


def backtest(data: Path, config: Path) -> BacktestResult:
    return run_backtest(BacktestRequest(data=str(data), config=str(config)))


def _held(result: BacktestResult, after: Bar | None, side: Side | None, minutes: int):
    """The first trade (of ``side``) opened after ``after`` and still open ``minutes`` in."""
    for trade in result.trades:
        if after is not None and trade.entry_ts <= after.ts + 5 * MINUTE:
            continue
        if (side is None or trade.side is side) and (
                trade.exit_ts > trade.entry_ts + minutes * MINUTE):
            return trade
    raise LookupError("no trade long enough to carry the bad print")


def bad_print_file(folder: Path) -> tuple[Path, list[Bar]]:
    """The replay file, and its two bad bars: OHLC 0.25 two minutes into a long, then a high
    of 50000 a minute into a later position."""
    bars = minute_bars(BARS, seed=SEED)
    index = {bar.ts: i for i, bar in enumerate(bars)}
    data = write_bars(folder / "bad_prints.csv", bars)
    long = _held(backtest(data, config_for(folder, data)), None, Side.LONG, 2)
    at = index[long.entry_ts + 2 * MINUTE]
    bars[at] = replace(bars[at], open=0.25, high=0.25, low=0.25, close=0.25)
    write_bars(data, bars)
    later = _held(backtest(data, config_for(folder, data)), bars[at], None, 1)
    spike = index[later.entry_ts + MINUTE]
    bars[spike] = replace(bars[spike], high=50000.0)
    write_bars(data, bars)
    return data, [bars[at], bars[spike]]


def _trade_key(trade) -> tuple:
    return (trade.bracket_id, trade.side, trade.contracts, trade.entry_ts, trade.entry_price,
            trade.exit_ts, trade.exit_price, trade.exit_reason, trade.pnl_net_cents)


def _at_bad_price(trades, bad: list[Bar]) -> int:
    times = {bar.ts for bar in bad}
    return sum(t.exit_ts in times or t.entry_ts in times or t.exit_price <= 1.0
               or t.exit_price >= 50000.0 for t in trades)


def bad_print_replay(folder: Path) -> BadPrintResult:
    """Play the file live (a real bot process) and backtest it; with the filter off too."""
    data, bad = bad_print_file(folder)
    config, db, log = config_for(folder, data), folder / "live.db", folder / "bot.log"
    code = start_bot(config, db, log).wait(timeout=RUN_TIMEOUT_S)
    live = query(db, journal_store.all_trades) or []
    result = backtest(data, config)
    tested = [t for t in result.trades if t.exit_reason is not ExitReason.END_OF_DATA]
    events = [e for e in query(db, ops_store.recent_events, 500) or [] if e.kind == "bad_bar"]
    quarantined = {json.loads(e.detail_json).get("close") for e in events}
    state = heartbeat(db)
    unfiltered = backtest(data, config_for(folder, data, filtered=False))
    worst = min((t.pnl_net_cents for t in unfiltered.trades), default=0)
    bad_fills = _at_bad_price(live, bad) + _at_bad_price(result.trades, bad)
    parity = [_trade_key(t) for t in live] == [_trade_key(t) for t in tested]
    survived = (code == 0 and bad_fills == 0 and parity and len(events) == 2
                and quarantined == {0.25, bad[1].close}
                and state is not None and state.bad_bars_skipped == 2
                and result.metrics["bars_quarantined"] == 2 and result.metrics["bad_fills"] == 0)
    detail = (f"run exit {code}, {len(live)} live / {len(tested)} backtest trades, "
              f"{len(events)} bad_bar events; unfiltered worst trade "
              f"${worst / 100:,.2f}, {unfiltered.metrics['bad_fills']} bad fills")
    return BadPrintResult("bad_print_replay", survived, bad_fills, len(events), parity, worst,
                          int(unfiltered.metrics["bad_fills"]), detail)
