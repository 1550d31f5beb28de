"""The heartbeat's protections columns: one line per protection in force with its state (the
risk panel shows it under the day's risk), and the day's peak P&L and profit lock (a restarted
bot reads them back: the peak may have been reached by open P&L, which no trade records)."""

from __future__ import annotations

import sqlite3

NEW_COLUMNS = (
    "protections_status TEXT NOT NULL DEFAULT ''",
    "day_peak_pnl_cents INTEGER NOT NULL DEFAULT 0",
    "profit_lock_rule TEXT NOT NULL DEFAULT ''",
    "profit_lock TEXT NOT NULL DEFAULT ''",
)


def heartbeat_protections(conn: sqlite3.Connection) -> None:
    """Add the protections' columns to ``bot_state``."""
    for column in NEW_COLUMNS:
        conn.execute(f"ALTER TABLE bot_state ADD COLUMN {column}")
