"""Schema of evaluation runs: one row per ``python -m bot evaluate`` run saved for the dashboard."""

from __future__ import annotations

import sqlite3


def evaluation_tables(conn: sqlite3.Connection) -> None:
    """The ``evaluation_runs`` table: a layer's evidence (on/off, placebo, interval, verdict)."""
    conn.execute(
        """
        CREATE TABLE evaluation_runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            layer TEXT NOT NULL,
            data TEXT NOT NULL,
            planted_edge TEXT,
            seeds INTEGER NOT NULL,
            verdict TEXT NOT NULL,
            walk_forward_verdict TEXT NOT NULL,
            result_json TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX evaluation_runs_layer ON evaluation_runs (layer, id)")
