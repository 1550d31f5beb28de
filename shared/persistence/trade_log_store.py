"""The trade log: each trade joined to its entry decision and the LLM call in force at entry;
export runs (progress for the dashboard) and the cloud-call ledger that governs uploads.

Callers own transactions, except ``reserve_cloud_call`` whose check-and-reserve is one
``BEGIN IMMEDIATE`` step (like the LLM governor), so two exports cannot both take the last unit.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.persistence.codec import from_text, optional_ts, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class TradeLogRow:
    """A closed trade, what its entry decision saw, and the LLM call in force (if any)."""

    trade_id: int
    bracket_id: str
    symbol: str
    side: str
    contracts: int
    entry_ts: datetime
    entry_price: float
    exit_ts: datetime
    exit_price: float
    exit_reason: str
    pnl_gross_cents: int
    commission_cents: int
    pnl_net_cents: int
    trend: str | None
    volatility: str | None
    time_bucket: str | None
    bias_at_entry: str
    decision_id: int | None
    decision_ts: datetime | None
    features_json: str
    regime_json: str
    signal_action: str | None
    signal_confidence: float | None
    final_confidence: float | None
    llm_call_id: int | None
    llm_model: str | None
    llm_system_prompt: str | None
    llm_prompt: str | None
    llm_response: str | None
    llm_bias: str | None
    llm_confidence: float | None
    llm_action: str | None


def trade_log(conn: sqlite3.Connection, since: datetime,
              until: datetime | None = None) -> list[TradeLogRow]:
    """Trades that closed in [since, until), oldest first, with entry decision and LLM call."""
    params: list[Any] = [to_text(since)]
    clause = ""
    if until is not None:
        clause = "AND t.exit_ts < ? "
        params.append(to_text(until))
    rows = conn.execute(
        "SELECT t.*, d.id AS decision_id, d.ts AS decision_ts, d.features_json, d.regime_json, "
        "d.signal_action, d.signal_confidence, d.final_confidence, d.llm_call_id, "
        "c.model AS llm_model, c.system_prompt, c.prompt, c.response, c.bias AS llm_bias, "
        "c.confidence AS llm_confidence, c.action AS llm_action "
        "FROM trades t "
        "LEFT JOIN decisions d ON d.id = (SELECT MIN(x.id) FROM decisions x "
        "WHERE x.bracket_id = t.bracket_id) "
        "LEFT JOIN llm_calls c ON c.id = d.llm_call_id "
        f"WHERE t.exit_ts >= ? {clause}ORDER BY t.exit_ts, t.id", params,
    ).fetchall()
    return [
        TradeLogRow(
            trade_id=r["id"], bracket_id=r["bracket_id"], symbol=r["symbol"], side=r["side"],
            contracts=r["contracts"], entry_ts=from_text(r["entry_ts"]),
            entry_price=r["entry_price"], exit_ts=from_text(r["exit_ts"]),
            exit_price=r["exit_price"], exit_reason=r["exit_reason"],
            pnl_gross_cents=r["pnl_gross_cents"], commission_cents=r["commission_cents"],
            pnl_net_cents=r["pnl_net_cents"], trend=r["trend"], volatility=r["volatility"],
            time_bucket=r["time_bucket"], bias_at_entry=r["bias_at_entry"],
            decision_id=r["decision_id"], decision_ts=optional_ts(r["decision_ts"]),
            features_json=r["features_json"] or "{}", regime_json=r["regime_json"] or "{}",
            signal_action=r["signal_action"], signal_confidence=r["signal_confidence"],
            final_confidence=r["final_confidence"], llm_call_id=r["llm_call_id"],
            llm_model=r["llm_model"], llm_system_prompt=r["system_prompt"],
            llm_prompt=r["prompt"], llm_response=r["response"], llm_bias=r["llm_bias"],
            llm_confidence=r["llm_confidence"], llm_action=r["llm_action"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ExportRun:
    """One ``export-training`` job as the dashboard follows it."""

    id: int
    token: str
    created_at: datetime
    request: dict[str, Any]
    status: str
    progress: float
    message: str
    pid: int | None
    result: dict[str, Any]
    finished_at: datetime | None


def _export(row: sqlite3.Row) -> ExportRun:
    return ExportRun(row["id"], row["token"], from_text(row["created_at"]),
                     json.loads(row["request_json"]), row["status"], row["progress"],
                     row["message"], row["pid"], json.loads(row["result_json"]),
                     optional_ts(row["finished_at"]))


def start_export_run(conn: sqlite3.Connection, token: str, request: dict[str, Any], pid: int,
                     at: datetime) -> int:
    """Record a started export (the job writes its own row; the page only reads it)."""
    require_transaction(conn, "start_export_run")
    cursor = conn.execute(
        "INSERT INTO export_runs (token, created_at, request_json, pid) VALUES (?, ?, ?, ?)",
        (token, to_text(at), json.dumps(request, sort_keys=True), pid))
    return int(cursor.lastrowid or 0)


def update_export_run(conn: sqlite3.Connection, run_id: int, progress: float,
                      message: str) -> None:
    """Progress (0..1) and what the job is doing."""
    require_transaction(conn, "update_export_run")
    conn.execute("UPDATE export_runs SET progress = ?, message = ? WHERE id = ?",
                 (progress, message, run_id))


def finish_export_run(conn: sqlite3.Connection, run_id: int, status: str, message: str,
                      result: dict[str, Any], at: datetime) -> None:
    """Final status (done / failed / cancelled), message and result."""
    require_transaction(conn, "finish_export_run")
    conn.execute(
        "UPDATE export_runs SET status = ?, message = ?, result_json = ?, finished_at = ?, "
        "progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END WHERE id = ?",
        (status, message, json.dumps(result, sort_keys=True), to_text(at), status, run_id))


def export_runs(conn: sqlite3.Connection, limit: int = 20) -> list[ExportRun]:
    """The latest export runs, newest first."""
    rows = conn.execute("SELECT * FROM export_runs ORDER BY id DESC LIMIT ?", (limit,))
    return [_export(r) for r in rows.fetchall()]


@dataclass(frozen=True, slots=True)
class CloudReservation:
    """A governed cloud attempt: its ledger id, or why it was refused."""

    call_id: int
    granted: bool
    reason: str


def reserve_cloud_call(conn: sqlite3.Connection, service: str, operation: str, target: str,
                       size_bytes: int, daily_limit: int, at: datetime) -> CloudReservation:
    """Check today's attempts against ``daily_limit`` and reserve one, atomically."""
    require_transaction(conn, "reserve_cloud_call")
    day = at.date().isoformat()
    used = int(conn.execute("SELECT COUNT(*) FROM cloud_calls WHERE day = ? AND service = ?",
                            (day, service)).fetchone()[0])
    granted = used < daily_limit
    status, reason = ("pending", "") if granted else (
        "refused", f"daily {service} attempt limit {daily_limit} reached")
    cursor = conn.execute(
        "INSERT INTO cloud_calls (created_at, day, service, operation, target, bytes, "
        "status, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (to_text(at), day, service, operation, target, size_bytes, status, reason))
    return CloudReservation(int(cursor.lastrowid or 0), granted, reason)


def settle_cloud_call(conn: sqlite3.Connection, call_id: int, status: str, error: str,
                      latency_ms: float, at: datetime) -> None:
    """How a reserved attempt ended."""
    require_transaction(conn, "settle_cloud_call")
    conn.execute("UPDATE cloud_calls SET status = ?, error = ?, latency_ms = ?, "
                 "settled_at = ? WHERE id = ?",
                 (status, error[:500], latency_ms, to_text(at), call_id))


def cloud_calls(conn: sqlite3.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """The latest cloud attempts, newest first (for the dashboard)."""
    rows = conn.execute("SELECT * FROM cloud_calls ORDER BY id DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows.fetchall()]
