"""Has another connection committed to the database? (SQLite's ``PRAGMA data_version``)."""

from __future__ import annotations

import sqlite3


def data_version(conn: sqlite3.Connection) -> int:
    """A number that changes when any other connection commits (this one's commits do not)."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
