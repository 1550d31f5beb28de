"""Parity: the same bars through ``python -m bot run`` (paper, replay) and the backtester.

The live bot runs as a real process on a temp database; the backtester reads the same config.
Trades must be identical (the backtest also closes the position the live bot stops with, at
the last bar, as ``end_of_data``: the comparison sets that one apart); every bar the
backtester evaluated must carry the live bot's verdict, action and risk rule; and every bar on
which the live bot entered, exited or moved a stop must be among them (the bars the
backtester skips changed nothing live).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.runner import build_settings, load_data, run_backtest
from shared.config.backtest_request import BacktestRequest
from shared.domain.models import ExitReason
from shared.persistence import codec, journal_store
from tests.integration.botproc import query, start_bot, write_config

pytestmark = pytest.mark.integration

ACTIVE_RISK = {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1,
               "max_hold_minutes": 30}


def _live_run(tmp_path: Path, feed: dict, risk: dict) -> tuple[Path, Path]:
    config = write_config(tmp_path, "c.yaml", {"feed": feed, "risk": risk,
                                               "engine": {"heartbeat_seconds": 0.5}})
    db, log = tmp_path / "live.db", tmp_path / "bot.log"
    process = start_bot(config, db, log)
    code = process.wait(timeout=240)  # max_bars makes the bot stop by itself
    assert code == 0, log.read_text()[-3000:]
    return config, db


def _key(trade) -> tuple:
    return (trade.bracket_id, trade.side, trade.contracts, trade.entry_ts, trade.entry_price,
            trade.exit_ts, trade.exit_price, trade.exit_reason, trade.pnl_gross_cents,
            trade.commission_cents, trade.pnl_net_cents, trade.labels)


def _check_parity(config: Path, db: Path, request: BacktestRequest) -> int:
    live_trades = query(db, journal_store.all_trades)
    result = run_backtest(request)
    # The live bot stops with its position still open; the backtest report closes that one at
    # the last bar (end_of_data). Every other trade must be identical.
    closed = [t for t in result.trades if t.exit_reason is not ExitReason.END_OF_DATA]
    at_end = result.trades[len(closed):]
    assert [_key(t) for t in closed] == [_key(t) for t in live_trades]
    live_open = query(db, journal_store.load_position, "MES")
    assert len(at_end) == (live_open is not None)
    if live_open is not None:
        (last,) = at_end
        assert (last.bracket_id, last.side, last.contracts, last.entry_ts, last.entry_price) == (
            live_open.bracket_id, live_open.side, live_open.contracts, live_open.entry_ts,
            live_open.entry_price)

    settings = build_settings(request)
    data = load_data(request, settings)
    settings = settings.model_copy(update={"feed": settings.feed.model_copy(
        update={"bar_seconds": data.bar_seconds})})
    outcome = run_engine(settings, data, keep_decisions=True)
    live = {codec.from_text(row["ts"]): row for row in query(db, journal_store.recent_decisions,
                                                              1_000_000)}
    assert len(live) == len(data)
    for mine in outcome.decisions:  # every bar the backtester evaluated decided the same
        row = live[mine.ts]
        assert (mine.verdict.value, mine.action_taken, mine.risk_rule, mine.bracket_id) == (
            row["verdict"], row["action_taken"], row["risk_rule"], row["bracket_id"])
        assert mine.final_confidence == pytest.approx(row["final_confidence"], abs=1e-12)
    evaluated = {d.ts for d in outcome.decisions}
    acted = [ts for ts, row in live.items() if row["verdict"] in ("enter", "exit", "manage")]
    entries = [ts for ts, row in live.items() if row["verdict"] == "enter"]
    assert len(entries) >= len(live_trades)
    assert len(acted) > len(entries)  # time exits or stop moves too, not only bracket fills
    assert set(acted) <= evaluated  # no bar that changed anything was skipped
    return len(live_trades)


def test_synthetic_minutes_give_identical_trades_live_and_backtest(tmp_path):
    bars = 3000
    feed = {"source": "synthetic", "seed": 5, "start": "2021-01-04T00:00:00Z",
            "bar_seconds": 60, "speed": 100_000, "max_bars": bars}
    config, db = _live_run(tmp_path, feed, ACTIVE_RISK)
    request = BacktestRequest(data="synthetic", bars=bars, seed=5, bar_size="1min",
                              config=str(config))
    assert _check_parity(config, db, request) >= 10


def test_real_es_minutes_replayed_give_identical_trades_live_and_backtest(tmp_path, shared_data):
    source = shared_data / "ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv"
    sample = tmp_path / "sample.csv"  # a temp slice, never kept in the repo
    with source.open(newline="") as src, sample.open("w", newline="") as out:
        writer = csv.writer(out)
        for index, row in enumerate(csv.reader(src)):
            if index >= 3000:
                break
            writer.writerow(row)
    feed = {"source": "replay", "replay_path": str(sample), "replay_timezone":
            "America/New_York", "bar_seconds": 60, "speed": 100_000, "max_bars": 3000}
    config, db = _live_run(tmp_path, feed, ACTIVE_RISK)
    request = BacktestRequest(data=str(sample), tz="America/New_York", config=str(config))
    assert _check_parity(config, db, request) >= 5
