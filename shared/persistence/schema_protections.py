"""The heartbeat's protections column: one line per protection in force, with its state (the
risk panel shows it under the day's risk)."""

from __future__ import annotations

import sqlite3


def heartbeat_protections(conn: sqlite3.Connection) -> None:
    """Add ``protections_status`` to ``bot_state``."""
    conn.execute("ALTER TABLE bot_state ADD COLUMN protections_status TEXT NOT NULL DEFAULT ''")
