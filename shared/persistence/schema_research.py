"""Schema of research runs (DESIGN §5 ``research_runs``): request, status, progress, results."""

from __future__ import annotations

import sqlite3


def research_tables(conn: sqlite3.Connection) -> None:
    """The ``research_runs`` table: one row per sweep, walk-forward or Monte Carlo run."""
    conn.execute(
        """
        CREATE TABLE research_runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL,
            request_json TEXT NOT NULL,
            status TEXT NOT NULL,
            progress REAL NOT NULL DEFAULT 0,
            tasks_done INTEGER NOT NULL DEFAULT 0,
            tasks_total INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '',
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            pid INTEGER,
            started_at TEXT,
            updated_at TEXT,
            finished_at TEXT,
            result_json TEXT
        )
        """
    )
    conn.execute("CREATE INDEX research_runs_status ON research_runs (status)")
