"""Backtest runs that can be cancelled and whose ids are never reused.

``backtest_runs`` is rebuilt with ``AUTOINCREMENT`` (a deleted run's id, and so its log file
name, is never handed out again) and a ``cancel_requested_at`` column (the page's cancel flag,
read by ``python -m bot backtest --run-id N`` between progress ticks). The child tables are
rebuilt against the new parent first, so dropping the old parent cascades into nothing.
"""

from __future__ import annotations

import sqlite3

RUN_COLUMNS = ("id, created_at, name, request_json, status, progress, message, pid, started_at, "
               "updated_at, finished_at, metrics_json, breakdowns_json, chart_json")


def backtest_cancel_and_unique_ids(conn: sqlite3.Connection) -> None:
    """Rebuild the three backtest tables (rows kept) with AUTOINCREMENT ids and a cancel flag."""
    conn.execute(
        """
        CREATE TABLE backtest_runs_v2 (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            request_json TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'queued',
            progress REAL NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            started_at TEXT,
            updated_at TEXT,
            finished_at TEXT,
            metrics_json TEXT,
            breakdowns_json TEXT,
            chart_json TEXT,
            cancel_requested_at TEXT
        )
        """
    )
    conn.execute(f"INSERT INTO backtest_runs_v2 ({RUN_COLUMNS}) "
                 f"SELECT {RUN_COLUMNS} FROM backtest_runs")
    conn.execute(
        """
        CREATE TABLE backtest_trades_v2 (
            run_id INTEGER NOT NULL REFERENCES backtest_runs_v2 (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            bracket_id TEXT NOT NULL,
            symbol TEXT NOT NULL,
            side TEXT NOT NULL,
            contracts INTEGER NOT NULL,
            entry_ts TEXT NOT NULL,
            entry_price REAL NOT NULL,
            exit_ts TEXT NOT NULL,
            exit_price REAL NOT NULL,
            exit_reason TEXT NOT NULL,
            pnl_gross_cents INTEGER NOT NULL,
            commission_cents INTEGER NOT NULL,
            pnl_net_cents INTEGER NOT NULL,
            trend TEXT, volatility TEXT, time_bucket TEXT,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID
        """
    )
    conn.execute("INSERT INTO backtest_trades_v2 SELECT * FROM backtest_trades")
    conn.execute(
        """
        CREATE TABLE backtest_equity_v2 (
            run_id INTEGER NOT NULL REFERENCES backtest_runs_v2 (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            ts TEXT NOT NULL,
            equity_cents INTEGER NOT NULL,
            drawdown_cents INTEGER NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITHOUT ROWID
        """
    )
    conn.execute("INSERT INTO backtest_equity_v2 SELECT * FROM backtest_equity")
    for table in ("backtest_trades", "backtest_equity", "backtest_runs"):
        conn.execute(f"DROP TABLE {table}")
    # Renaming the parent rewrites the children's REFERENCES to the new name.
    for table in ("backtest_runs", "backtest_trades", "backtest_equity"):
        conn.execute(f"ALTER TABLE {table}_v2 RENAME TO {table}")
