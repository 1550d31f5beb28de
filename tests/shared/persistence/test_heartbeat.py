"""The heartbeat is a typed dataclass written and read back whole (times, flags, enums)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.models import SessionPhase
from shared.persistence import ops_store
from shared.persistence.db import write_transaction
from tests.support import open_migrated_journal

pytestmark = pytest.mark.unit
T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def test_a_heartbeat_round_trips_with_its_types(tmp_path):
    conn = open_migrated_journal(tmp_path / "t.db")
    assert ops_store.read_bot_state(conn) is None
    beat = ops_store.Heartbeat(
        heartbeat_at=T0, mode="paper", symbol="MES", status="running", last_bar_ts=T0,
        pid=123, broker_connected=True, position_side="short", position_contracts=2,
        position_entry_price=5000.25, position_entry_ts=T0 - timedelta(minutes=3),
        position_stop_price=5010.25, position_target_price=4985.25, last_price=4998.0,
        equity_cents=2_500_000, realized_today_cents=-12_500, unrealized_cents=2_250,
        bias="bearish", halted=True, halt_reason="flatten", entries_blocked_reason="halted",
        entries_today=4, max_trades_per_day=10, consecutive_losses=2, max_consecutive_losses=3,
        daily_loss_limit_cents=30_000, cooldown_until=T0 + timedelta(minutes=5),
        session_phase=SessionPhase.BREAK, session_next_change_at=T0 + timedelta(hours=1),
        config_version=7, bars_processed=900, bad_bars_skipped=1,
    )
    with write_transaction(conn):
        ops_store.upsert_bot_state(conn, beat)
    assert ops_store.read_bot_state(conn) == beat
    later = ops_store.Heartbeat(heartbeat_at=T0 + timedelta(seconds=5), mode="paper",
                                symbol="MES", status="stopped")
    with write_transaction(conn):
        ops_store.upsert_bot_state(conn, later)
    read = ops_store.read_bot_state(conn)
    assert read == later and read.halted is False and read.position_side is None
    conn.close()


def test_a_heartbeat_from_before_the_new_columns_reads_with_defaults(tmp_path):
    from shared.persistence import db
    from shared.persistence.schema_heartbeat import heartbeat_risk_and_session

    conn = db.connect(tmp_path / "old.db")
    for number, migration in enumerate(db.MIGRATIONS[:db.MIGRATIONS.index(
            heartbeat_risk_and_session)]):
        with write_transaction(conn):
            migration(conn)
            conn.execute(f"PRAGMA user_version = {number + 1}")
    conn.execute(
        "INSERT INTO bot_state (id, heartbeat_at, mode, broker_connected, symbol, equity_cents, "
        "realized_today_cents, unrealized_cents, bias, halted) "
        "VALUES (1, '2025-03-03T15:00:00+00:00', 'paper', 1, 'MES', 1, 2, 3, 'neutral', 0)")
    beat = ops_store.read_bot_state(conn)
    assert beat.heartbeat_at == T0 and beat.broker_connected is True
    assert beat.session_phase is SessionPhase.UNKNOWN and beat.entries_blocked_reason == ""
    conn.close()
