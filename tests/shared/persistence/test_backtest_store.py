"""Backtest runs in SQLite: queue, progress, results, read back, delete; the request model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.config.backtest_request import BacktestRequest, RunStatus
from shared.domain.errors import ConfigError
from shared.domain.models import ExitReason, Side, TradeRecord
from shared.persistence import backtest_store
from shared.persistence.db import write_transaction

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def _trade(i: int) -> TradeRecord:
    return TradeRecord(f"B{i}", "MES", Side.SHORT, 2, T0 + timedelta(minutes=i), 5000.25,
                       T0 + timedelta(minutes=i + 5), 4990.0, ExitReason.TARGET, 10250, 248,
                       10002, {"trend": "range", "volatility": "high", "time_bucket": "open"})


def test_a_run_goes_queued_running_done_with_its_results(conn):
    request = BacktestRequest(strategy="sma_cross", params={"fast": "5"}, contracts=2)
    with write_transaction(conn):
        run_id = backtest_store.insert_backtest_run(conn, request.to_json(), T0, "first")
    assert backtest_store.backtest_run(conn, run_id)["status"] == RunStatus.QUEUED
    with write_transaction(conn):
        backtest_store.mark_backtest_running(conn, run_id, 4242, T0)
        backtest_store.update_backtest_progress(conn, run_id, 0.25, "25% of bars", T0)
    row = backtest_store.backtest_run(conn, run_id)
    assert (row["status"], row["pid"], row["progress"]) == ("running", 4242, 0.25)
    trades = [_trade(1), _trade(2)]
    equity = [(t.exit_ts, 100 + i, -i) for i, t in enumerate(trades)]
    with write_transaction(conn):
        backtest_store.finish_backtest_run(conn, run_id, {"trades": 2}, {"hour": []}, trades,
                                           equity, T0)
    row = backtest_store.backtest_run(conn, run_id)
    assert (row["status"], row["progress"], row["metrics_json"]) == ("done", 1, '{"trades": 2}')
    assert backtest_store.backtest_trades(conn, run_id) == trades
    assert backtest_store.backtest_equity(conn, run_id) == equity
    assert BacktestRequest.from_json(row["request_json"]) == request
    assert [r["id"] for r in backtest_store.backtest_runs(conn)] == [run_id]


def test_failing_and_deleting_a_run(conn):
    with write_transaction(conn):
        run_id = backtest_store.insert_backtest_run(conn, BacktestRequest().to_json(), T0)
        backtest_store.finish_backtest_run(conn, run_id, {}, {}, [_trade(1)], [(T0, 1, 0)], T0)
        backtest_store.fail_backtest_run(conn, run_id, "no bars in range", T0)
    row = backtest_store.backtest_run(conn, run_id)
    assert (row["status"], row["message"]) == ("failed", "no bars in range")
    with write_transaction(conn):
        assert backtest_store.delete_backtest_run(conn, run_id) is True
        assert backtest_store.delete_backtest_run(conn, run_id) is False
    assert backtest_store.backtest_run(conn, run_id) is None
    assert backtest_store.backtest_trades(conn, run_id) == []
    assert backtest_store.backtest_equity(conn, run_id) == []


def test_a_stored_request_with_a_bad_field_names_it():
    with pytest.raises(ConfigError, match="bars"):
        BacktestRequest.from_json('{"bars": -5}')
    with pytest.raises(ConfigError, match="colour"):
        BacktestRequest.from_json('{"colour": "red"}')


def test_run_ids_are_never_reused_after_a_delete(conn):
    with write_transaction(conn):
        first = backtest_store.insert_backtest_run(conn, BacktestRequest().to_json(), T0)
        second = backtest_store.insert_backtest_run(conn, BacktestRequest().to_json(), T0)
        backtest_store.delete_backtest_run(conn, second)
        third = backtest_store.insert_backtest_run(conn, BacktestRequest().to_json(), T0)
    assert third == second + 1 and first < second


def test_rebuilding_the_runs_table_keeps_rows_and_children(tmp_path):
    """The AUTOINCREMENT migration on a database holding a finished run and its trades."""
    from shared.persistence import db
    from shared.persistence.schema_backtest_cancel import backtest_cancel_and_unique_ids

    index = db.MIGRATIONS.index(backtest_cancel_and_unique_ids)
    conn = db.connect(tmp_path / "old.db")
    for migration_number, migration in enumerate(db.MIGRATIONS[:index]):
        with write_transaction(conn):
            migration(conn)
            conn.execute(f"PRAGMA user_version = {migration_number + 1}")
    conn.execute("INSERT INTO backtest_runs (id, created_at, request_json, status) "
                 "VALUES (7, '2025-03-04T15:00:00+00:00', '{}', 'done')")
    conn.execute("INSERT INTO backtest_equity VALUES (7, 0, '2025-03-04T15:00:00+00:00', 1, 0)")
    assert db.migrate(conn) == len(db.MIGRATIONS)
    assert backtest_store.backtest_run(conn, 7)["status"] == "done"
    assert backtest_store.backtest_equity(conn, 7) == [(T0, 1, 0)]
    with write_transaction(conn):
        backtest_store.delete_backtest_run(conn, 7)
        new_id = backtest_store.insert_backtest_run(conn, "{}", T0)
    assert new_id == 8 and backtest_store.backtest_equity(conn, 7) == []
    conn.close()


def test_cancel_flag_and_ending_a_run(conn):
    with write_transaction(conn):
        run_id = backtest_store.insert_backtest_run(conn, BacktestRequest().to_json(), T0)
    assert backtest_store.backtest_cancel_state(conn, run_id) is False
    with write_transaction(conn):
        assert backtest_store.request_backtest_cancel(conn, run_id, T0)
    assert backtest_store.backtest_cancel_state(conn, run_id) is True
    with write_transaction(conn):
        assert backtest_store.end_backtest_run(conn, run_id, RunStatus.CANCELLED, "asked", T0)
        assert not backtest_store.end_backtest_run(conn, run_id, RunStatus.LOST, "late", T0)
        assert not backtest_store.request_backtest_cancel(conn, run_id, T0)
    assert backtest_store.backtest_run(conn, run_id)["status"] == "cancelled"
    with write_transaction(conn):
        backtest_store.delete_backtest_run(conn, run_id)
    assert backtest_store.backtest_cancel_state(conn, run_id) is None


def test_a_request_names_an_upload_by_the_users_file_name():
    request = BacktestRequest(data="/srv/data/uploads/ab12.csv", data_label="my bars.csv")
    message = "/srv/data/uploads/ab12.csv: no column named close"
    assert request.user_message(message) == "my bars.csv: no column named close"
