"""Schema: ``llm_calls.mode`` records the ``llm.mode`` in force when the call was made.

The calibration ledger breaks its scores down by model and mode; calls logged before this
migration keep an empty mode ("unknown" on the page).
"""

from __future__ import annotations

import sqlite3


def llm_call_mode(conn: sqlite3.Connection) -> None:
    """Add ``llm_calls.mode`` (empty for every call logged so far)."""
    conn.execute("ALTER TABLE llm_calls ADD COLUMN mode TEXT NOT NULL DEFAULT ''")
