"""Schema of the trade log and exports: the LLM call and learned rules behind each decision,
export runs (progress for the dashboard) and the cloud-call ledger that governs S3 uploads."""

from __future__ import annotations

import sqlite3


def trade_log_tables(conn: sqlite3.Connection) -> None:
    """decisions.llm_call_id and rules_json; export_runs; cloud_calls."""
    _run(
        conn,
        """
        ALTER TABLE decisions ADD COLUMN llm_call_id INTEGER;
        ALTER TABLE decisions ADD COLUMN rules_json TEXT NOT NULL DEFAULT '{}';
        CREATE INDEX decisions_llm_call ON decisions (llm_call_id);

        CREATE TABLE export_runs (
            id INTEGER PRIMARY KEY,
            token TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            request_json TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'running',
            progress REAL NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            result_json TEXT NOT NULL DEFAULT '{}',
            finished_at TEXT
        );

        CREATE TABLE cloud_calls (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            day TEXT NOT NULL,
            service TEXT NOT NULL,
            operation TEXT NOT NULL,
            target TEXT NOT NULL,
            bytes INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'pending',
            error TEXT NOT NULL DEFAULT '',
            latency_ms REAL,
            settled_at TEXT
        );
        CREATE INDEX cloud_calls_day ON cloud_calls (day, service)
        """,
    )


def _run(conn: sqlite3.Connection, script: str) -> None:
    """One statement at a time: ``executescript`` would commit the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
