"""SQLite connection settings, migrations and the journal's named queries."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.models import (
    Bar,
    CommandKind,
    CommandStatus,
    ExitReason,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TradeRecord,
)
from shared.persistence import codec, journal_store, ops_store
from shared.persistence.db import (
    connect,
    migrate,
    open_database,
    schema_version,
    set_busy_timeout,
    write_transaction,
)

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def test_connection_uses_wal_busy_timeout_and_foreign_keys(conn):
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_migrate_is_idempotent_and_versioned(tmp_path):
    connection = connect(tmp_path / "m.db")
    assert schema_version(connection) == 0
    version = migrate(connection)
    assert version >= 1
    assert migrate(connection) == version


def test_two_processes_migrating_one_file_apply_each_step_once(tmp_path, monkeypatch):
    """The bot and the alerts worker start together on a fresh journal: the one that reads
    the old version first and gets the write lock second must not replay a step."""
    import threading

    from shared.persistence import db

    path = tmp_path / "race.db"
    late, early = connect(path), connect(path)
    read_stale = threading.Event()
    other_finished = threading.Event()
    real_version = db.schema_version
    calls = {"late": 0}

    def version_seen_by(conn):
        found = real_version(conn)
        if conn is late:
            calls["late"] += 1
            if calls["late"] == 1:
                read_stale.set()
                other_finished.wait(timeout=30)
        return found

    monkeypatch.setattr(db, "schema_version", version_seen_by)
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _record(errors, db.migrate, late))
    worker.start()
    assert read_stale.wait(timeout=30)
    assert db.migrate(early) == len(db.MIGRATIONS)
    other_finished.set()
    worker.join(timeout=60)
    assert errors == []
    assert real_version(late) == len(db.MIGRATIONS)


def test_a_newer_program_migrating_while_we_wait_for_the_lock_is_refused(tmp_path, monkeypatch):
    """Read version N, wait for the write lock, find a version above ours: SchemaTooNewError,
    never a silent "up to date"."""
    import threading

    from shared.persistence import db

    path = tmp_path / "newer.db"
    late, newer = connect(path), connect(path)
    read_stale, newer_done = threading.Event(), threading.Event()
    real_version = db.schema_version

    def version_seen_by(conn):
        found = real_version(conn)
        if conn is late and not read_stale.is_set():
            read_stale.set()
            newer_done.wait(timeout=30)
        return found

    monkeypatch.setattr(db, "schema_version", version_seen_by)
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _record(errors, db.migrate, late))
    worker.start()
    assert read_stale.wait(timeout=30)
    newer.execute(f"PRAGMA user_version = {len(db.MIGRATIONS) + 3}")
    newer_done.set()
    worker.join(timeout=60)
    assert len(errors) == 1 and isinstance(errors[0], db.SchemaTooNewError)


def _record(errors: list[BaseException], call, *args) -> None:
    try:
        call(*args)
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread
        errors.append(exc)


def test_newer_schema_is_refused(tmp_path):
    connection = open_database(tmp_path / "n.db")
    connection.execute("PRAGMA user_version = 99")
    with pytest.raises(RuntimeError, match="newer than this code"):
        migrate(connection)


def test_failed_write_transaction_rolls_back(conn):
    with pytest.raises(RuntimeError), write_transaction(conn):
        journal_store.insert_bars(conn, "MES", [Bar(T0, 1, 2, 0.5, 1.5, 10)])
        raise RuntimeError("boom")
    assert journal_store.recent_bars(conn, "MES", 10) == []


def test_an_error_after_sqlite_ended_the_transaction_is_not_masked_by_rollback(conn):
    # After SQLITE_FULL SQLite may roll back on its own; a second ROLLBACK must not replace
    # "database or disk is full" with "cannot rollback - no transaction is active".
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"), \
            write_transaction(conn):
        journal_store.insert_bars(conn, "MES", [Bar(T0, 1, 2, 0.5, 1.5, 10)])
        conn.rollback()
        raise sqlite3.OperationalError("database or disk is full")
    assert not conn.in_transaction
    assert journal_store.recent_bars(conn, "MES", 10) == []


def test_busy_timeout_can_be_shortened(conn):
    set_busy_timeout(conn, 250)
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 250


def test_journal_integrity_counts_a_position_without_a_working_stop(conn):
    healthy = journal_store.journal_integrity(conn)
    assert healthy == dict.fromkeys(healthy, 0)
    position = Position("MES", Side.LONG, 1, 5000.0, T0, "MES-1", 4990.0, 5015.0)
    with write_transaction(conn):
        journal_store.save_position(conn, "MES", position, T0)
    assert journal_store.journal_integrity(conn)["naked_positions"] == 1


def test_readonly_connection_cannot_write(tmp_path, conn):
    reader = connect(tmp_path / "t.db", readonly=True)
    with pytest.raises(Exception, match="readonly"):
        reader.execute("DELETE FROM bars")


def test_bars_round_trip_oldest_first_and_prune(conn):
    bars = [Bar(T0 + timedelta(seconds=5 * i), 5000, 5001, 4999, 5000.25, 10 + i) for i in range(5)]
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", bars)
    assert journal_store.recent_bars(conn, "MES", 3) == bars[-3:]
    with write_transaction(conn):
        assert journal_store.prune_bars(conn, "MES", bars[2].ts) == 2
    assert journal_store.recent_bars(conn, "MES", 10) == bars[2:]


def _order(status=OrderStatus.WORKING, role=OrderRole.STOP, price=4990.0):
    return Order("B1-stop", "B1", "MES", Side.SHORT, role, OrderType.STOP, 1, price, status, T0,
                 exit_reason=ExitReason.STOP)


def test_order_upsert_keeps_history_and_working_list(conn):
    with write_transaction(conn):
        journal_store.upsert_order(conn, _order(), T0, "submitted", T0)
    assert journal_store.working_orders(conn, "MES") == [_order()]
    moved = _order(price=4995.0)
    with write_transaction(conn):
        journal_store.upsert_order(conn, moved, T0 + timedelta(seconds=5), "moved", T0)
    assert journal_store.working_orders(conn, "MES")[0].price == 4995.0
    with write_transaction(conn):
        journal_store.upsert_order(conn, _order(OrderStatus.CANCELLED), T0, "cancelled", T0)
    assert journal_store.working_orders(conn, "MES") == []
    events = conn.execute("SELECT status FROM order_events ORDER BY id").fetchall()
    assert [e[0] for e in events] == ["working", "working", "cancelled"]


def test_position_round_trip_and_flat(conn):
    position = Position("MES", Side.LONG, 2, 5000.0, T0, "B1", 4990.0, 5015.0, 124)
    with write_transaction(conn):
        journal_store.save_position(conn, "MES", position, T0)
    assert journal_store.load_position(conn, "MES") == position
    with write_transaction(conn):
        journal_store.save_position(conn, "MES", None, T0)
    assert journal_store.load_position(conn, "MES") is None


def test_trade_round_trip_with_labels(conn):
    trade = TradeRecord("B1", "MES", Side.SHORT, 1, T0, 5000.0, T0 + timedelta(minutes=3),
                        4990.0, ExitReason.TARGET, 5000, 124, 4876,
                        {"trend": "range", "volatility": "normal", "time_bucket": "open",
                         "bias": "neutral"})
    with write_transaction(conn):
        journal_store.insert_trade(conn, trade, T0)
    assert journal_store.all_trades(conn) == [trade]
    assert journal_store.trades_since(conn, T0 + timedelta(minutes=4)) == []
    assert journal_store.total_realized_cents(conn) == 4876


def test_commands_queue_and_outcome(conn):
    with write_transaction(conn):
        command_id = ops_store.enqueue_command(conn, CommandKind.HALT, T0, {"reason": "lunch"})
    pending = ops_store.pending_commands(conn)
    assert [(c.command_id, c.kind, c.payload) for c in pending] == [
        (command_id, "halt", {"reason": "lunch"})
    ]
    with write_transaction(conn):
        ops_store.complete_command(conn, command_id, CommandStatus.DONE, "halted", T0)
    assert ops_store.pending_commands(conn) == []
    assert ops_store.command_outcome(conn, command_id).result == "halted"


def test_config_versions_keep_one_active(conn):
    with write_transaction(conn):
        first = ops_store.insert_config_version(conn, "a: 1\n", "bot", "first", T0)
    with write_transaction(conn):
        second = ops_store.insert_config_version(conn, "a: 2\n", "me", "second", T0)
    active = ops_store.active_config_version(conn)
    assert active.version_id == second and first != second
    assert conn.execute("SELECT COUNT(*) FROM config_versions WHERE active = 1").fetchone()[0] == 1


def test_naive_timestamps_are_refused():
    with pytest.raises(ValueError, match="naive"):
        codec.to_text(datetime(2025, 1, 1))


def test_table_counts_only_for_known_tables(conn):
    assert journal_store.table_counts(conn, ["bars"]) == {"bars": 0}
    with pytest.raises(ValueError, match="unknown table"):
        journal_store.table_counts(conn, ["sqlite_master"])
