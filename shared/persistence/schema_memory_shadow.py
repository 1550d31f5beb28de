"""Schema: ``memory.shadow`` marks a setup whose outcome is a refused entry's shadow bracket.

A refused entry is followed as a shadow to where its bracket would have exited; once closed,
its setup is stored with that outcome and ``shadow = 1`` (taken trades keep 0), so a refusing
memory keeps learning and a restart restores the flag.
"""

from __future__ import annotations

import sqlite3


def memory_shadow_column(conn: sqlite3.Connection) -> None:
    """Add ``memory.shadow`` (0 for every setup stored so far: all were taken trades)."""
    conn.execute("ALTER TABLE memory ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0")
