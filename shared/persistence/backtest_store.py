"""Every SQL statement about backtest runs: requests, status and progress, trades, equity.

The dashboard inserts a queued run and reads progress and results; ``python -m bot backtest
--run-id N`` marks it running, reports progress and writes the results once, at the end.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.config.backtest_request import ACTIVE_STATUSES, RunStatus
from shared.domain.models import ExitReason, Side, TradeRecord
from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction


def insert_backtest_run(
    conn: sqlite3.Connection, request_json: str, created_at: datetime, name: str = ""
) -> int:
    """Queue a backtest request; return the run id."""
    require_transaction(conn, "insert_backtest_run")
    cursor = conn.execute(
        "INSERT INTO backtest_runs (created_at, name, request_json, status) VALUES (?, ?, ?, ?)",
        (to_text(created_at), name, request_json, RunStatus.QUEUED.value),
    )
    return int(cursor.lastrowid or 0)


def backtest_run(conn: sqlite3.Connection, run_id: int) -> dict[str, Any] | None:
    """Return one run row as a dict (None when there is no such run)."""
    row = conn.execute("SELECT * FROM backtest_runs WHERE id = ?", (run_id,)).fetchone()
    return dict(row) if row else None


def backtest_runs(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Return the latest runs, newest first, without their large JSON columns."""
    rows = conn.execute(
        "SELECT id, created_at, name, status, progress, message, started_at, finished_at, pid, "
        "cancel_requested_at FROM backtest_runs ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(r) for r in rows]


def mark_backtest_running(
    conn: sqlite3.Connection, run_id: int, pid: int, started_at: datetime
) -> None:
    """Record that a process picked the run up."""
    require_transaction(conn, "mark_backtest_running")
    conn.execute(
        "UPDATE backtest_runs SET status = ?, pid = ?, started_at = ?, updated_at = ?, "
        "progress = 0, message = 'started' WHERE id = ?",
        (RunStatus.RUNNING.value, pid, to_text(started_at), to_text(started_at), run_id),
    )


def update_backtest_progress(
    conn: sqlite3.Connection, run_id: int, progress: float, message: str, at: datetime
) -> None:
    """Store how far a running backtest is (0..1) and what it is doing."""
    require_transaction(conn, "update_backtest_progress")
    conn.execute(
        "UPDATE backtest_runs SET progress = ?, message = ?, updated_at = ? WHERE id = ?",
        (progress, message, to_text(at), run_id),
    )


def fail_backtest_run(
    conn: sqlite3.Connection, run_id: int, message: str, finished_at: datetime
) -> None:
    """Mark a run failed with the reason a user can act on."""
    require_transaction(conn, "fail_backtest_run")
    conn.execute(
        "UPDATE backtest_runs SET status = ?, message = ?, finished_at = ?, updated_at = ? "
        "WHERE id = ?",
        (RunStatus.FAILED.value, message, to_text(finished_at), to_text(finished_at), run_id),
    )


def finish_backtest_run(
    conn: sqlite3.Connection,
    run_id: int,
    metrics: dict[str, Any],
    breakdowns: dict[str, Any],
    trades: Sequence[TradeRecord],
    equity: Sequence[tuple[datetime, int, int]],
    finished_at: datetime,
    candles: dict[str, list[Any]] | None = None,
) -> None:
    """Write a run's results (metrics, trades, equity/drawdown, chart candles); mark it done."""
    require_transaction(conn, "finish_backtest_run")
    conn.execute("DELETE FROM backtest_trades WHERE run_id = ?", (run_id,))
    conn.execute("DELETE FROM backtest_equity WHERE run_id = ?", (run_id,))
    conn.executemany(
        "INSERT INTO backtest_trades (run_id, seq, bracket_id, symbol, side, contracts, "
        "entry_ts, entry_price, exit_ts, exit_price, exit_reason, pnl_gross_cents, "
        "commission_cents, pnl_net_cents, trend, volatility, time_bucket) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                run_id, seq, t.bracket_id, t.symbol, t.side.value, t.contracts,
                to_text(t.entry_ts), t.entry_price, to_text(t.exit_ts), t.exit_price,
                t.exit_reason.value, t.pnl_gross_cents, t.commission_cents, t.pnl_net_cents,
                t.labels.get("trend"), t.labels.get("volatility"), t.labels.get("time_bucket"),
            )
            for seq, t in enumerate(trades)
        ],
    )
    conn.executemany(
        "INSERT INTO backtest_equity (run_id, seq, ts, equity_cents, drawdown_cents) "
        "VALUES (?, ?, ?, ?, ?)",
        [(run_id, seq, to_text(ts), eq, dd) for seq, (ts, eq, dd) in enumerate(equity)],
    )
    conn.execute(
        "UPDATE backtest_runs SET status = ?, progress = 1, message = ?, metrics_json = ?, "
        "breakdowns_json = ?, chart_json = ?, finished_at = ?, updated_at = ? WHERE id = ?",
        (
            RunStatus.DONE.value, f"{len(trades)} trades", json.dumps(metrics, sort_keys=True),
            json.dumps(breakdowns, sort_keys=True), json.dumps(candles or {}),
            to_text(finished_at), to_text(finished_at), run_id,
        ),
    )


def backtest_trades(conn: sqlite3.Connection, run_id: int) -> list[TradeRecord]:
    """Return a run's trades in order."""
    rows = conn.execute(
        "SELECT * FROM backtest_trades WHERE run_id = ? ORDER BY seq", (run_id,)
    ).fetchall()
    return [
        TradeRecord(
            bracket_id=r["bracket_id"], symbol=r["symbol"], side=Side(r["side"]),
            contracts=r["contracts"], entry_ts=from_text(r["entry_ts"]),
            entry_price=r["entry_price"], exit_ts=from_text(r["exit_ts"]),
            exit_price=r["exit_price"], exit_reason=ExitReason(r["exit_reason"]),
            pnl_gross_cents=r["pnl_gross_cents"], commission_cents=r["commission_cents"],
            pnl_net_cents=r["pnl_net_cents"],
            labels={k: r[k] for k in ("trend", "volatility", "time_bucket") if r[k] is not None},
        )
        for r in rows
    ]


def backtest_equity(conn: sqlite3.Connection, run_id: int) -> list[tuple[datetime, int, int]]:
    """Return a run's (time, equity cents, drawdown cents) points in order."""
    rows = conn.execute(
        "SELECT ts, equity_cents, drawdown_cents FROM backtest_equity WHERE run_id = ? "
        "ORDER BY seq",
        (run_id,),
    ).fetchall()
    return [(from_text(r["ts"]), r["equity_cents"], r["drawdown_cents"]) for r in rows]


def delete_backtest_run(conn: sqlite3.Connection, run_id: int) -> bool:
    """Delete a run with its trades and equity; return whether it existed."""
    require_transaction(conn, "delete_backtest_run")
    conn.execute("DELETE FROM backtest_trades WHERE run_id = ?", (run_id,))
    conn.execute("DELETE FROM backtest_equity WHERE run_id = ?", (run_id,))
    cursor = conn.execute("DELETE FROM backtest_runs WHERE id = ?", (run_id,))
    return cursor.rowcount > 0


def record_backtest_pid(conn: sqlite3.Connection, run_id: int, pid: int) -> None:
    """Remember the process the dashboard started for a queued run (to tell a lost run)."""
    require_transaction(conn, "record_backtest_pid")
    conn.execute("UPDATE backtest_runs SET pid = ? WHERE id = ? AND pid IS NULL", (pid, run_id))


def request_backtest_cancel(conn: sqlite3.Connection, run_id: int, at: datetime) -> bool:
    """Set a queued or running run's cancel flag; return whether there was such a run."""
    require_transaction(conn, "request_backtest_cancel")
    cursor = conn.execute(
        "UPDATE backtest_runs SET cancel_requested_at = ?, updated_at = ? "
        "WHERE id = ? AND status IN (?, ?)",
        (to_text(at), to_text(at), run_id, *ACTIVE_STATUSES),
    )
    return cursor.rowcount > 0


def backtest_cancel_state(conn: sqlite3.Connection, run_id: int) -> bool | None:
    """Whether the run's cancel flag is set; None when the run was deleted."""
    row = conn.execute(
        "SELECT cancel_requested_at FROM backtest_runs WHERE id = ?", (run_id,)
    ).fetchone()
    if row is None:
        return None
    return row[0] is not None


def end_backtest_run(
    conn: sqlite3.Connection, run_id: int, status: RunStatus, message: str, at: datetime
) -> bool:
    """Mark a queued or running run cancelled or lost with why; False if it had already ended."""
    require_transaction(conn, "end_backtest_run")
    cursor = conn.execute(
        "UPDATE backtest_runs SET status = ?, message = ?, finished_at = ?, updated_at = ? "
        "WHERE id = ? AND status IN (?, ?)",
        (status.value, message, to_text(at), to_text(at), run_id, *ACTIVE_STATUSES),
    )
    return cursor.rowcount > 0
