"""Read-side queries for the dashboard, returned as pandas DataFrames or plain values.

Times come back as tz-aware UTC. Read-only: every function takes a (read-only) connection.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import pandas as pd

from shared.persistence import codec
from shared.persistence.codec import to_text


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def bars_frame(conn: sqlite3.Connection, symbol: str, since: datetime) -> pd.DataFrame:
    """Bars of ``symbol`` from ``since`` on, indexed by UTC start time."""
    frame = pd.read_sql_query(
        "SELECT ts, open, high, low, close, volume FROM bars WHERE symbol = ? AND ts >= ? "
        "ORDER BY ts",
        conn, params=(symbol, to_text(since)),
    )
    return _utc(frame, "ts").set_index("ts")


def sentiment_frame(conn: sqlite3.Connection, symbol: str, since: datetime) -> pd.DataFrame:
    """The rolling sentiment the strategies saw at each decision from ``since`` on (by time).

    Empty when the bot ran without news (the journal then holds no sentiment).
    """
    frame = pd.read_sql_query(
        "SELECT ts, json_extract(features_json, '$.sentiment') AS sentiment FROM decisions "
        "WHERE symbol = ? AND ts >= ? AND json_extract(features_json, '$.sentiment') IS NOT NULL "
        "ORDER BY ts",
        conn, params=(symbol, to_text(since)),
    )
    return _utc(frame, "ts").set_index("ts")


def indicators_frame(conn: sqlite3.Connection, symbol: str, since: datetime) -> pd.DataFrame:
    """RSI, MACD (line, signal, histogram) and the regime's tradable flag of each journaled
    decision of ``symbol`` from ``since`` on (by time); NaN where the features were warming up
    or not journaled."""
    frame = pd.read_sql_query(
        "SELECT ts, json_extract(features_json, '$.rsi') AS rsi, "
        "json_extract(features_json, '$.macd') AS macd, "
        "json_extract(features_json, '$.macd_signal') AS macd_signal, "
        "json_extract(features_json, '$.macd_hist') AS macd_hist, "
        "json_extract(regime_json, '$.tradable') AS tradable FROM decisions "
        "WHERE symbol = ? AND ts >= ? ORDER BY ts",
        conn, params=(symbol, to_text(since)),
    )
    for column in ("rsi", "macd", "macd_signal", "macd_hist", "tradable"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return _utc(frame, "ts").set_index("ts")


def last_bar_time(conn: sqlite3.Connection, symbol: str) -> datetime | None:
    """Start time of the newest stored bar of ``symbol``."""
    row = conn.execute("SELECT MAX(ts) FROM bars WHERE symbol = ?", (symbol,)).fetchone()
    return pd.Timestamp(row[0]).to_pydatetime() if row and row[0] else None


def trade_filter_options(conn: sqlite3.Connection) -> tuple[list[str], list[str]]:
    """Distinct sides and exit reasons present in the trades table."""
    sides = [r[0] for r in conn.execute("SELECT DISTINCT side FROM trades ORDER BY side")]
    reasons = [
        r[0] for r in conn.execute("SELECT DISTINCT exit_reason FROM trades ORDER BY exit_reason")
    ]
    return sides, reasons


def trade_date_bounds(conn: sqlite3.Connection) -> tuple[datetime, datetime] | None:
    """Exit times of the first and the last closed trade, or None before any trade."""
    row = conn.execute("SELECT MIN(exit_ts), MAX(exit_ts) FROM trades").fetchone()
    if not row or row[0] is None:
        return None
    return codec.from_text(row[0]), codec.from_text(row[1])


def decisions_frame(conn: sqlite3.Connection, limit: int = 50) -> pd.DataFrame:
    """The latest decisions, newest first, with their reasons joined for display."""
    frame = pd.read_sql_query(
        "SELECT ts, close, verdict, signal_action, final_confidence, risk_rule, action_taken, "
        "reasons_json FROM decisions ORDER BY id DESC LIMIT ?",
        conn, params=(limit,),
    )
    frame["reasons"] = [" | ".join(json.loads(text)) for text in frame.pop("reasons_json")]
    return _utc(frame, "ts")


def commands_frame(conn: sqlite3.Connection, limit: int = 20) -> pd.DataFrame:
    """The latest commands (dashboard, Telegram) and their outcomes, newest first."""
    frame = pd.read_sql_query(
        "SELECT id, created_at, author, kind, status, result, processed_at FROM commands "
        "ORDER BY id DESC LIMIT ?",
        conn, params=(limit,),
    )
    return frame


def events_frame(conn: sqlite3.Connection, limit: int = 20) -> pd.DataFrame:
    """The latest events (incidents, reloads, halts), newest first."""
    return pd.read_sql_query(
        "SELECT ts, kind, severity, message FROM events ORDER BY id DESC LIMIT ?",
        conn, params=(limit,),
    )


def config_versions_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """Every stored config version, newest first (without the YAML text)."""
    return pd.read_sql_query(
        "SELECT id, created_at, author, note, active FROM config_versions ORDER BY id DESC", conn
    )


def config_version_yaml(conn: sqlite3.Connection, version_id: int) -> str | None:
    """The YAML text of one config version."""
    row = conn.execute("SELECT yaml FROM config_versions WHERE id = ?", (version_id,)).fetchone()
    return row[0] if row else None
