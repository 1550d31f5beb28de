"""Reads for the LLM calibration ledger: answered market calls and the closes to score them."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from shared.domain.calibration import AnsweredCall
from shared.persistence.codec import from_text, to_text


def answered_calls(conn: sqlite3.Connection, after_id: int = 0, limit: int = 5000
                   ) -> list[AnsweredCall]:
    """The latest ``limit`` ``ok`` market calls (not a review's lesson) with an id above
    ``after_id``, oldest first."""
    rows = conn.execute(
        "SELECT id, created_at, trigger, provider, model, mode, prompt, bias, confidence "
        "FROM llm_calls WHERE id > ? AND status = 'ok' "
        "AND trigger NOT IN ('review', 'evaluation') "
        "AND bias IS NOT NULL AND confidence IS NOT NULL ORDER BY id DESC LIMIT ?",
        (after_id, limit)).fetchall()
    return [AnsweredCall(int(r["id"]), from_text(r["created_at"]), str(r["trigger"]),
                         str(r["provider"]), str(r["model"]), str(r["mode"] or ""),
                         str(r["prompt"]), str(r["bias"]), float(r["confidence"]))
            for r in reversed(rows)]


def close_at(conn: sqlite3.Connection, symbol: str, ts: datetime) -> float | None:
    """The journaled close of ``symbol``'s bar starting at ``ts`` (None when not journaled)."""
    row = conn.execute("SELECT close FROM bars WHERE symbol = ? AND ts = ?",
                       (symbol, to_text(ts))).fetchone()
    return None if row is None else float(row["close"])
