"""Schema of the nightly maintenance: one row per run with the journal's size and what was done.

``db_maintenance`` keeps, per nightly run, the file and WAL sizes, page and free-page counts,
each table's rows and bytes (``tables_json``), the rows deleted and archived per table, and the
backup written. The dashboard draws size and growth per day from these rows, so it never scans
the database itself.
"""

from __future__ import annotations

import sqlite3


def maintenance_runs(conn: sqlite3.Connection) -> None:
    """Create ``db_maintenance``."""
    conn.execute(
        """CREATE TABLE db_maintenance (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            message TEXT NOT NULL DEFAULT '',
            file_bytes INTEGER NOT NULL DEFAULT 0,
            wal_bytes INTEGER NOT NULL DEFAULT 0,
            page_size INTEGER NOT NULL DEFAULT 0,
            page_count INTEGER NOT NULL DEFAULT 0,
            freelist_count INTEGER NOT NULL DEFAULT 0,
            tables_json TEXT NOT NULL DEFAULT '{}',
            deleted_json TEXT NOT NULL DEFAULT '{}',
            archived_json TEXT NOT NULL DEFAULT '[]',
            backup_path TEXT NOT NULL DEFAULT '',
            backup_bytes INTEGER NOT NULL DEFAULT 0
        )""")
