"""``python -m bot run`` as a real process: journal, round trip, commands, clean stop.

Crash recovery (kill -9 in a position) and the other fault tests live in tests/faults.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from shared.domain.models import CommandKind
from shared.persistence import journal_store, ops_store
from shared.persistence.db import open_database, write_transaction
from shared.persistence.journal_store import all_trades, load_position
from tests.integration.botproc import (
    REPO_ROOT,
    heartbeat,
    query,
    start_bot,
    stop_bot,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration

FAST_FEED = {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z", "speed": 2000}
ACTIVE_RISK = {"max_hold_minutes": 10, "max_trades_per_day": 40, "cooldown_after_loss_minutes": 1}
LONG_HOLD_RISK = {"max_hold_minutes": 600, "trailing_stop_enabled": False,
                  "min_stop_points": 20, "reward_risk_ratio": 3}


def test_accelerated_run_journals_heartbeats_decisions_and_a_round_trip(tmp_path):
    config = write_config(tmp_path, "c.yaml", {
        "feed": FAST_FEED, "risk": ACTIVE_RISK, "engine": {"heartbeat_seconds": 0.2},
    })
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(config, db, log)
    try:
        first = wait_for(lambda: heartbeat(db), 30, "the first heartbeat", process, log)
        trades = wait_for(lambda: query(db, all_trades), 90, "a closed trade", process, log)
        later = wait_for(
            lambda: (h := heartbeat(db)) and h.heartbeat_at > first.heartbeat_at and h,
            30, "a later heartbeat", process, log,
        )
    finally:
        code, _ = stop_bot(process)
    assert code == 0
    assert later.mode == "paper" and later.bars_processed > 0 and later.pid == process.pid
    trade = trades[0]
    assert trade.pnl_net_cents == trade.pnl_gross_cents - trade.commission_cents
    fills = [f for f in query(db, journal_store.all_fills) if f["bracket_id"] == trade.bracket_id]
    assert len(fills) == 2 and fills[0]["role"] == "entry"
    decisions = query(db, journal_store.recent_decisions, 100_000)
    assert len(decisions) >= later.bars_processed - 1
    assert {"hold", "enter"} <= {d["verdict"] for d in decisions}
    assert heartbeat(db).status == "stopped"


def _open_position(db):
    position = query(db, load_position, "MES")
    if position is None:
        return None
    orders = query(db, journal_store.working_orders, "MES")
    return position, orders


def test_sigterm_exits_zero_within_the_configured_time(tmp_path):
    config = write_config(tmp_path, "c.yaml", {
        "feed": {**FAST_FEED, "speed": 1}, "engine": {"shutdown_timeout_s": 5},
    })
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(config, db, log)
    wait_for(lambda: heartbeat(db), 30, "the first heartbeat", process, log)
    code, seconds = stop_bot(process)
    assert code == 0 and seconds <= 5
    assert heartbeat(db).status == "stopped"


def test_malformed_config_exits_2_naming_the_field(tmp_path):
    config = write_config(tmp_path, "bad.yaml", {"risk": {"max_contracts": "lots"}})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config), "--db",
         str(tmp_path / "t.db")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "risk.max_contracts" in result.stderr and "integer" in result.stderr
    assert not (tmp_path / "t.db").exists()


def test_live_account_is_refused_without_flag_and_env(tmp_path):
    config = write_config(tmp_path, "live.yaml", {"broker": {"mode": "ib_live"}})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config), "--db",
         str(tmp_path / "t.db")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2 and "refusing to trade a live account" in result.stderr


def _command_done(db, command_id):
    row = query(db, ops_store.command_outcome, command_id)
    return row if row and row.status != "pending" else None


def test_commands_halt_flatten_resume_are_carried_out(tmp_path):
    config = write_config(tmp_path, "c.yaml", {
        "feed": {**FAST_FEED, "speed": 400}, "risk": LONG_HOLD_RISK,
    })
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(config, db, log)
    try:
        wait_for(lambda: _open_position(db), 60, "an open position", process, log)
        conn = open_database(db)
        with write_transaction(conn):
            flatten_id = ops_store.enqueue_command(conn, CommandKind.FLATTEN, datetime.now(UTC))
        with write_transaction(conn):
            bogus_id = ops_store.enqueue_command(conn, "explode", datetime.now(UTC))
        done = wait_for(lambda: _command_done(db, flatten_id), 30, "flatten", process, log)
        assert done.status == "done" and "entries halted" in done.result
        failed = wait_for(lambda: _command_done(db, bogus_id), 30, "bogus", process, log)
        assert failed.status == "failed" and "unknown command 'explode'" in failed.result
        trade = wait_for(
            lambda: [t for t in query(db, all_trades) if t.exit_reason == "kill_switch"],
            30, "the kill-switch exit", process, log,
        )[0]
        assert query(db, load_position, "MES") is None
        assert heartbeat(db).halted == 1
        with write_transaction(conn):
            resume_id = ops_store.enqueue_command(conn, CommandKind.RESUME, datetime.now(UTC))
        wait_for(lambda: _command_done(db, resume_id), 30, "resume", process, log)
        wait_for(lambda: heartbeat(db).halted == 0, 30, "halted cleared", process, log)
        conn.close()
    finally:
        code, _ = stop_bot(process)
    assert code == 0 and trade.exit_ts >= trade.entry_ts


def test_malformed_replay_rows_are_skipped_and_counted(tmp_path):
    rows = ["timestamp,open,high,low,close,volume"]
    for minute in range(40):
        price = 5000 + (minute % 4) * 0.25
        rows.append(f"2025-03-03 14:{minute:02d}:00,{price},{price + 0.5},{price - 0.5},"
                    f"{price},100")
    rows.insert(5, "2025-03-03 14:03:30,abc,1,1,1,1")
    rows.insert(9, "2025-03-03 14:07:30,5000,4990,5010,5000,100")
    csv = tmp_path / "bars.csv"
    csv.write_text("\r\n".join(rows) + "\r\n")
    config = write_config(tmp_path, "c.yaml", {
        "feed": {"source": "replay", "replay_path": str(csv), "speed": 100000,
                 "bar_seconds": 60},
    })
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(config, db, log)
    try:
        state = wait_for(
            lambda: (h := heartbeat(db)) and h.bars_processed == 40 and h, 60,
            "all good rows played", process, log,
        )
    finally:
        code, _ = stop_bot(process)
    assert code == 0
    assert state.bad_bars_skipped == 2
    events = [e for e in query(db, ops_store.recent_events, 50) if e.kind == "bad_bar"]
    assert events and "2 malformed" in events[0].message


SAME_SEED_BARS = 800  # four round trips of this market: enough to compare whole journals


def test_two_runs_with_the_same_seed_write_identical_journals(tmp_path):
    config = write_config(tmp_path, "c.yaml", {
        "feed": {**FAST_FEED, "speed": 100000, "max_bars": SAME_SEED_BARS}, "risk": ACTIVE_RISK,
    })
    snapshots = []
    for run in ("a", "b"):
        db, log = tmp_path / f"{run}.db", tmp_path / f"{run}.log"
        process = start_bot(config, db, log)
        assert process.wait(timeout=180) == 0, log.read_text()[-3000:]
        assert heartbeat(db).bars_processed == SAME_SEED_BARS
        snapshots.append(query(db, journal_store.journal_snapshot))
    first, second = snapshots
    assert len(first["decisions"]) == SAME_SEED_BARS and len(first["trades"]) >= 3
    assert first == second


def test_imported_config_versions_hot_reload_and_garbage_is_refused_while_running(tmp_path):
    base = {"feed": {**FAST_FEED, "speed": 50}}
    config = write_config(tmp_path, "c.yaml", base)
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(config, db, log)

    def events(kind):
        return [e for e in query(db, ops_store.recent_events, 200) or [] if e.kind == kind]

    def import_config(path):
        return subprocess.run([sys.executable, "-m", "bot", "config", "import", str(path),
                               "--db", str(db)], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=60)

    try:
        first = wait_for(lambda: heartbeat(db), 30, "the first heartbeat", process, log)
        edit = write_config(tmp_path, "edit.yaml", {**base, "risk": {"max_contracts": 1},
                                                    "features": {"window_bars": 300}})
        assert import_config(edit).returncode == 0
        reloaded = wait_for(lambda: events("config_reloaded"), 30, "a reload", process, log)
        assert "risk.max_contracts" in reloaded[0].message
        assert "applies on restart: features.window_bars" in reloaded[0].message
        edit.write_text("risk: [this is : not yaml\n")
        refused = import_config(edit)
        assert refused.returncode == 2 and "not valid YAML" in refused.stderr
        later = wait_for(
            lambda: (h := heartbeat(db)) and h.config_version != first.config_version and h,
            30, "the new config version in the heartbeat", process, log,
        )
        assert process.poll() is None and later.status == "running"
        assert later.config_version == query(db, ops_store.active_config_version_id)
    finally:
        code, _ = stop_bot(process)
    assert code == 0
