"""Schema: ``memory.shadow`` marks a setup whose outcome is a refused entry's shadow bracket.

A refused entry followed as a shadow is stored at once with ``shadow = 1`` and its bracket
(taken trades keep 0 and NULLs); when the shadow reaches its exit the outcome is recorded like a
trade's, so a refusing memory keeps learning, and a restart restores the flag and resumes a
shadow still open.
"""

from __future__ import annotations

import sqlite3


def memory_shadow_column(conn: sqlite3.Connection) -> None:
    """Add ``memory.shadow`` (0 for every setup stored so far: all were taken trades) and the
    shadow's bracket (stop, target, contracts), so a restart resumes a shadow still open."""
    for statement in (
        "ALTER TABLE memory ADD COLUMN shadow INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE memory ADD COLUMN shadow_stop_price REAL",
        "ALTER TABLE memory ADD COLUMN shadow_target_price REAL",
        "ALTER TABLE memory ADD COLUMN shadow_contracts INTEGER",
    ):
        conn.execute(statement)
