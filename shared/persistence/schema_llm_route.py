"""Schema step: ``llm_calls.route``, the ``llm.routes`` entry that chose each call's model."""

from __future__ import annotations

import sqlite3


def llm_call_route(conn: sqlite3.Connection) -> None:
    """Add ``llm_calls.route`` (empty for every call logged before routing existed)."""
    conn.execute("ALTER TABLE llm_calls ADD COLUMN route TEXT NOT NULL DEFAULT ''")
