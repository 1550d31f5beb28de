"""Schema of the memory of past setups: the ``memory`` table, its scaler, the decisions' verdict.

``memory`` holds one row per submitted bracket: the setup at entry (float32 feature blob with
its schema version, side, buckets, LLM bias) and, once the bracket closed, its outcome (NULL
until then; only closed rows are retrieved for decisions). ``memory_scaler`` keeps every fitted
scaler. ``decisions.memory_json`` holds each decision's memory verdict.
"""

from __future__ import annotations

import sqlite3


def memory_tables(conn: sqlite3.Connection) -> None:
    """Create ``memory`` and ``memory_scaler``; add ``decisions.memory_json``."""
    for statement in (
        """
        CREATE TABLE memory (
            id INTEGER PRIMARY KEY,
            bracket_id TEXT NOT NULL UNIQUE,
            decision_id INTEGER,
            symbol TEXT NOT NULL,
            entry_ts TEXT NOT NULL,
            side TEXT NOT NULL,
            schema_version INTEGER NOT NULL,
            features BLOB NOT NULL,
            time_bucket TEXT NOT NULL,
            volatility TEXT NOT NULL,
            trend TEXT NOT NULL,
            llm_bias TEXT,
            llm_confidence REAL,
            risk_cents INTEGER NOT NULL,
            closed_ts TEXT,
            pnl_net_cents INTEGER,
            r_multiple REAL,
            exit_reason TEXT,
            recorded_at TEXT NOT NULL,
            closed_recorded_at TEXT
        )
        """,
        "CREATE INDEX memory_closed ON memory (closed_ts)",
        """
        CREATE TABLE memory_scaler (
            id INTEGER PRIMARY KEY,
            schema_version INTEGER NOT NULL,
            feature_names_json TEXT NOT NULL,
            fitted_rows INTEGER NOT NULL,
            center BLOB NOT NULL,
            scale BLOB NOT NULL,
            typical_distance REAL NOT NULL,
            fitted_ts TEXT NOT NULL,
            recorded_at TEXT NOT NULL
        )
        """,
        "ALTER TABLE decisions ADD COLUMN memory_json TEXT NOT NULL DEFAULT '{}'",
    ):
        conn.execute(statement)
