"""Heartbeat columns a trader's overview needs: the position's working stop and target, the
risk counters and why entries are blocked, and the CME session phase at the bot's time."""

from __future__ import annotations

import sqlite3

NEW_COLUMNS = (
    "position_entry_ts TEXT",
    "position_stop_price REAL",
    "position_target_price REAL",
    "last_price REAL",
    "entries_blocked_reason TEXT NOT NULL DEFAULT ''",
    "entries_today INTEGER NOT NULL DEFAULT 0",
    "max_trades_per_day INTEGER NOT NULL DEFAULT 0",
    "consecutive_losses INTEGER NOT NULL DEFAULT 0",
    "max_consecutive_losses INTEGER NOT NULL DEFAULT 0",
    "daily_loss_limit_cents INTEGER NOT NULL DEFAULT 0",
    "cooldown_until TEXT",
    "session_phase TEXT NOT NULL DEFAULT 'unknown'",
    "session_next_change_at TEXT",
)


def heartbeat_risk_and_session(conn: sqlite3.Connection) -> None:
    """Add the overview's heartbeat columns to ``bot_state``."""
    for column in NEW_COLUMNS:
        conn.execute(f"ALTER TABLE bot_state ADD COLUMN {column}")
