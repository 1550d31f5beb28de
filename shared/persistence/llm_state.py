"""LLM side tables: provider/bias state, headlines, trigger history, command claims, attribution.

Callers own transactions (``db.write_transaction``); a write outside one is refused.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from shared.persistence.codec import to_text
from shared.persistence.db import require_transaction

JOB_CLAIM = "analysis running in a one-off job (no bot is running)"


def write_state(conn: sqlite3.Connection, state: dict[str, Any]) -> None:
    """Upsert the single provider/bias state row (columns as in ``llm_state``)."""
    require_transaction(conn, "write_state")
    columns = ["id", *state]
    updates = ", ".join(f"{name} = excluded.{name}" for name in state)
    conn.execute(
        f"INSERT INTO llm_state ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)}) ON CONFLICT (id) DO UPDATE SET {updates}",
        [1, *state.values()],
    )


def read_state(conn: sqlite3.Connection) -> dict[str, Any] | None:
    """The provider/bias state row, or None before the bot wrote one."""
    row = conn.execute("SELECT * FROM llm_state WHERE id = 1").fetchone()
    return dict(row) if row else None


def insert_news(conn: sqlite3.Connection, headline: str, source: str, created_at: datetime) -> int:
    """Store one headline for the news trigger; return its id."""
    require_transaction(conn, "insert_news")
    cursor = conn.execute(
        "INSERT INTO news (created_at, source, headline) VALUES (?, ?, ?)",
        (to_text(created_at), source, headline),
    )
    return int(cursor.lastrowid or 0)


def news_after(conn: sqlite3.Connection, after_id: int) -> list[dict[str, Any]]:
    """Headlines stored after id ``after_id``, oldest first."""
    rows = conn.execute("SELECT * FROM news WHERE id > ? ORDER BY id", (after_id,)).fetchall()
    return [dict(r) for r in rows]


def recent_news(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The latest headlines, newest first."""
    rows = conn.execute("SELECT * FROM news ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [dict(r) for r in rows]


def last_news_id(conn: sqlite3.Connection) -> int:
    """The highest headline id (0 when none)."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM news").fetchone()[0])


def last_triggers(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The latest journaled LLM trigger of each kind (events of kind ``llm_trigger``)."""
    rows = conn.execute(
        "SELECT json_extract(detail_json, '$.trigger') AS trigger, MAX(ts) AS ts "
        "FROM events WHERE kind = 'llm_trigger' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return [dict(r) for r in rows]


def claim_command(conn: sqlite3.Connection, command_id: int, result: str, at: datetime) -> bool:
    """Mark a pending command done by a one-off job; False if someone else took it."""
    require_transaction(conn, "claim_command")
    cursor = conn.execute(
        "UPDATE commands SET status = 'done', result = ?, processed_at = ? "
        "WHERE id = ? AND status = 'pending'",
        (result, to_text(at), command_id),
    )
    return cursor.rowcount == 1


def set_command_result(conn: sqlite3.Connection, command_id: int, result: str) -> None:
    """Replace a finished command's result text (the analysis arrived)."""
    require_transaction(conn, "set_command_result")
    conn.execute("UPDATE commands SET result = ? WHERE id = ?", (result, command_id))


def recent_trades(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` closed trades (side, prices, P&L, exit reason), newest first."""
    rows = conn.execute(
        "SELECT side, contracts, entry_ts, entry_price, exit_price, exit_reason, pnl_net_cents "
        "FROM trades ORDER BY exit_ts DESC, id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [dict(r) for r in rows]


def llm_entry_outcomes(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Closed trades with the LLM adjustment and labels of the decision that opened them."""
    rows = conn.execute(
        "SELECT d.llm_adjustment, d.labels_json, t.pnl_net_cents FROM decisions d "
        "JOIN trades t ON t.bracket_id = d.bracket_id WHERE d.verdict = 'enter' ORDER BY t.id"
    ).fetchall()
    return [dict(r) for r in rows]


def shadow_exits(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Where the brackets the LLM skipped would have exited (event payloads)."""
    rows = conn.execute(
        "SELECT detail_json FROM events WHERE kind = 'llm_shadow_exit' ORDER BY id"
    ).fetchall()
    return [json.loads(r["detail_json"]) for r in rows]
