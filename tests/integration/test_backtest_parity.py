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
import json
import re
from pathlib import Path

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.runner import build_settings, load_data, run_backtest
from bot.core.memory import FEATURE_SCHEMA_VERSION
from shared.config.backtest_request import BacktestRequest
from shared.domain.models import ExitReason
from shared.persistence import codec, journal_store, memory_store
from tests.bot.backtest.conftest import minute_bars
from tests.integration.botproc import query, start_bot, write_config

pytestmark = pytest.mark.integration

ACTIVE_RISK = {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1,
               "max_hold_minutes": 30}
# Memory that trades: it guards with 4 similar setups (MIN_SIMILAR_TRADES from the environment,
# in the bot and the backtester alike), lets entries meeting that through while it holds fewer
# than 10 setups, then judges by the expected R (a looser bound than the default, so that a
# two-day memory still trades); refused entries' shadows teach it too.
MEMORY = {"enabled": True, "cold_start_setups": 10, "radius": 1.5, "bandwidth": 0.75,
          "min_expected_r": -0.5, "expected_r_z": 0.5}
MEMORY_ENV = {"MIN_SIMILAR_TRADES": "4"}


def _live_run(tmp_path: Path, feed: dict, risk: dict, memory: dict | None = None,
              env: dict | None = None, runs: int = 1) -> tuple[Path, Path]:
    config = write_config(tmp_path, "c.yaml", {"feed": feed, "risk": risk,
                                               "memory": memory or {},
                                               "engine": {"heartbeat_seconds": 0.5}})
    db, log = tmp_path / "live.db", tmp_path / "bot.log"
    for _ in range(runs):  # each run plays max_bars more bars, restoring from the journal
        process = start_bot(config, db, log, env)
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
        assert json.loads(mine.memory_json) == json.loads(row["memory_json"])
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


def _memory_verdicts(db: Path) -> list[dict]:
    rows = query(db, journal_store.recent_decisions, 1_000_000)
    return [json.loads(r["memory_json"]) for r in rows if r["memory_json"] != "{}"]


def _assert_memory_guarded(db: Path) -> None:
    verdicts = _memory_verdicts(db)
    assert {v["cold_start"] for v in verdicts} == {True, False}
    assert any(not v["allowed"] and not v["cold_start"] for v in verdicts)
    assert any(v["allowed"] and v["adjustment"] != 0 for v in verdicts)
    assert all("< 4 needed" in v["reason"] for v in verdicts if "needed" in v["reason"])
    closed = query(db, memory_store.closed_memory_rows, FEATURE_SCHEMA_VERSION)
    assert len([r for r in closed if not r.shadow]) == len(query(db, journal_store.all_trades))
    assert any(r.shadow for r in closed)  # refused entries taught it too


def test_memory_on_gives_identical_trades_and_memory_verdicts_live_and_backtest(
        tmp_path, monkeypatch):
    bars = 3000
    feed = {"source": "synthetic", "seed": 5, "start": "2021-01-04T00:00:00Z",
            "bar_seconds": 60, "speed": 100_000, "max_bars": bars}
    config, db = _live_run(tmp_path, feed, ACTIVE_RISK, MEMORY, MEMORY_ENV)
    monkeypatch.setenv("MIN_SIMILAR_TRADES", MEMORY_ENV["MIN_SIMILAR_TRADES"])
    request = BacktestRequest(data="synthetic", bars=bars, seed=5, bar_size="1min",
                              config=str(config))
    assert _check_parity(config, db, request) >= 10
    _assert_memory_guarded(db)


def test_a_restarted_bot_rebuilds_its_memory_and_still_matches_the_backtest(
        tmp_path, monkeypatch):
    sample = tmp_path / "bars.csv"  # synthetic minutes replayed from a file, in two runs
    with sample.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for bar in minute_bars(3000, seed=3):
            writer.writerow([bar.ts.isoformat(), bar.open, bar.high, bar.low, bar.close,
                             bar.volume])
    feed = {"source": "replay", "replay_path": str(sample), "bar_seconds": 60,
            "speed": 100_000, "max_bars": 1500}
    config, db = _live_run(tmp_path, feed, ACTIVE_RISK, MEMORY, MEMORY_ENV, runs=2)
    log = (tmp_path / "bot.log").read_text()
    restored = re.findall(r"memory: (\d+) closed setups restored", log)
    assert len(restored) == 2 and int(restored[1]) >= 5  # the second run rebuilt its memory
    monkeypatch.setenv("MIN_SIMILAR_TRADES", MEMORY_ENV["MIN_SIMILAR_TRADES"])
    request = BacktestRequest(data=str(sample), config=str(config))
    assert _check_parity(config, db, request) >= 10
    _assert_memory_guarded(db)
