"""Migration: ``llm_backtest_cache``, the replies ``--llm record`` bought, keyed by prompt hash.

A later ``--llm replay-cache`` backtest reads them back at zero cost. The paying call itself is
a row of ``llm_calls`` (``call_id``) like every governed call; this table only keeps the
validated reply so identical prompts get identical answers.
"""

from __future__ import annotations

import sqlite3


def llm_backtest_cache(conn: sqlite3.Connection) -> None:
    """Create the backtest reply cache."""
    conn.execute(
        """
        CREATE TABLE llm_backtest_cache (
            prompt_hash TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            template_version TEXT NOT NULL,
            trigger TEXT NOT NULL,
            bar_ts TEXT NOT NULL,
            call_id INTEGER,
            reply_json TEXT NOT NULL,
            bias TEXT NOT NULL,
            confidence REAL NOT NULL,
            action TEXT NOT NULL,
            cost_usd REAL NOT NULL DEFAULT 0
        ) WITHOUT ROWID
        """
    )
