"""Parity with the protections on: the same bars through ``python -m bot run`` (paper, synthetic
minutes replayed from a file, stopped and restarted halfway) and the backtester give identical
trades and per-bar verdicts while the give-back lock, the multi-day drawdown pause, the % of
equity limits, the exposure cap and a release blackout (from a user-edited calendar file) all
act; the restarted bot reads its protections' history back from the journal."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.protections import ProtectionRule
from shared.config.backtest_request import BacktestRequest
from shared.persistence import codec, journal_store, ops_store
from tests.bot.backtest.conftest import minute_bars
from tests.integration.botproc import query, start_bot, write_config
from tests.integration.test_backtest_parity import ACTIVE_RISK, _check_parity

pytestmark = pytest.mark.integration

BARS, SEED = 3000, 7  # Mon 4 Jan 2021 00:00 UTC on: two sessions and a bit
RELEASES = """# a calendar edited by the trader
date,time_et,event,status
2021-01-04,09:30,CPI,test
2021-01-04,14:00,FOMC,test
2021-01-05,08:30,NFP,test
2021-01-05,11:00,CPI,test
"""
PROTECTIONS = {"giveback_pct": 50, "giveback_min_peak_usd": 15, "drawdown_sessions": 2,
               "drawdown_limit_usd": 120, "risk_per_trade_pct": 0.3,
               "daily_loss_limit_pct": 1.0, "max_exposure_pct": 150,
               "blackout_events": ["CPI", "NFP", "FOMC"], "blackout_before_minutes": 20,
               "blackout_after_minutes": 20, "flatten_before_release_minutes": 10}


def test_a_restarted_bot_restores_the_protections_and_still_matches_the_backtest(tmp_path):
    sample = tmp_path / "bars.csv"  # synthetic minutes replayed from a file, in two runs
    with sample.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        for bar in minute_bars(BARS, seed=SEED, start=datetime(2021, 1, 4, tzinfo=UTC)):
            writer.writerow([bar.ts.isoformat(), bar.open, bar.high, bar.low, bar.close,
                             bar.volume])
    releases = tmp_path / "releases.csv"
    releases.write_text(RELEASES, encoding="utf-8")
    feed = {"source": "replay", "replay_path": str(sample), "bar_seconds": 60,
            "speed": 100_000, "max_bars": BARS // 2}
    config = write_config(tmp_path, "c.yaml", {
        "feed": feed, "risk": ACTIVE_RISK, "engine": {"heartbeat_seconds": 0.5},
        "protections": {**PROTECTIONS, "releases_file": str(releases)}})
    db, log = tmp_path / "live.db", tmp_path / "bot.log"
    for _ in range(2):  # the second run restores its counters from the journal
        process = start_bot(config, db, log)
        assert process.wait(timeout=240) == 0, log.read_text()[-3000:]
    request = BacktestRequest(data=str(sample), config=str(config))
    assert _check_parity(config, db, request) >= 10
    restart = datetime(2021, 1, 4, tzinfo=UTC) + timedelta(minutes=BARS // 2)
    after = Counter(row["risk_rule"] for row in query(db, journal_store.recent_decisions,
                                                       1_000_000)
                    if codec.from_text(row["ts"]) > restart)
    assert after[ProtectionRule.DRAWDOWN] > 0, after  # yesterday's loss, read back at restart
    rules = Counter(row["risk_rule"] for row in query(db, journal_store.recent_decisions,
                                                       1_000_000))
    for rule in (ProtectionRule.GIVEBACK, ProtectionRule.DRAWDOWN, ProtectionRule.BLACKOUT):
        assert rules[rule] > 0, f"{rule} never acted: {rules}"
    assert {t.contracts for t in query(db, journal_store.all_trades)} == {1}  # exposure cap
    status = query(db, ops_store.read_bot_state).protections_status.splitlines()
    assert [line.split(" ")[0] for line in status[:6]] == [
        "Risk", "Daily", "Exposure", "Give-back", "Last", "Release"]
    assert "; the smaller applies" in status[0] and "(pause at -$120.00)" in status[4]
    assert "no listed release ahead" in status[5]  # the calendar's last release has passed


def test_a_malformed_release_line_stops_the_bot_at_start_naming_the_line(tmp_path):
    releases = tmp_path / "releases.csv"
    releases.write_text(RELEASES + "2021-01-06,8.30am,CPI,test\n", encoding="utf-8")
    feed = {"source": "synthetic", "seed": SEED, "start": "2021-01-04T00:00:00Z",
            "bar_seconds": 60, "speed": 100_000, "max_bars": 10}
    config = write_config(tmp_path, "c.yaml", {
        "feed": feed, "protections": {**PROTECTIONS, "releases_file": str(releases)}})
    db, log = tmp_path / "live.db", tmp_path / "bot.log"
    assert start_bot(config, db, log).wait(timeout=240) == 2  # EXIT_BAD_CONFIG
    assert (f"error: invalid config: releases file {releases} line 7: time_et '8.30am' is "
            "not HH:MM") in log.read_text()
    assert not query(db, journal_store.all_trades)
