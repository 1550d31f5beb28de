"""Every SQL statement of the LLM in backtests: the live journal's replies, the record cache.

``journal_replies`` reads which validated replies a live bot had and when: the engine time of
its ``llm_result`` event (the bar after which it was in force) or, for a reply no bot applied
(a one-off analysis), the wall-clock ``settled_at`` of its call. ``cached_reply`` and
``store_cached_reply`` are the ``--llm record`` / ``--llm replay-cache`` cache. Callers own
transactions (``db.write_transaction``); a write outside one is refused.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction

REPLY_STATUSES = ("ok", "cached")  # the statuses whose reply a live bot puts in force
CACHE_TABLE = "llm_backtest_cache"


@dataclass(frozen=True, slots=True)
class JournalReply:
    """One validated reply of the live journal and the time it counts from.

    ``applied`` is True when a live bot journaled putting it in force (``at`` is then the
    engine time of that ``llm_result`` event); False for a call no bot applied (``at`` is its
    wall-clock ``settled_at``).
    """

    call_id: int
    at: datetime
    applied: bool
    trigger: str
    bias: str
    confidence: float
    action: str
    cost_usd: float


@dataclass(frozen=True, slots=True)
class CachedReply:
    """A reply bought by ``--llm record``, as validated JSON."""

    prompt_hash: str
    reply_json: str
    call_id: int | None
    cost_usd: float


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                       (name,)).fetchone()
    return row is not None


def has_call_log(conn: sqlite3.Connection) -> bool:
    """Whether the database has an LLM call log and an event journal at all."""
    return _has_table(conn, "llm_calls") and _has_table(conn, "events")


def journal_replies(conn: sqlite3.Connection, since: datetime, until: datetime
                    ) -> list[JournalReply]:
    """Replies that count from a time in [``since``, ``until``), oldest first.

    Calls whose prompt came from a ``--llm record`` backtest (their hash is in the cache) are
    left out: no live bot had them.
    """
    applied = conn.execute(
        "SELECT e.ts AS at, e.id AS event_id, c.id, c.trigger, c.bias, c.confidence, c.action, "
        "c.cost_usd FROM events e JOIN llm_calls c "
        "ON c.id = json_extract(e.detail_json, '$.call_id') "
        "WHERE e.kind = 'llm_result' AND e.ts >= ? AND e.ts < ? AND c.status IN (?, ?) "
        "AND c.bias IS NOT NULL ORDER BY e.ts, e.id",
        (to_text(since), to_text(until), *REPLY_STATUSES),
    ).fetchall()
    applied_ids = {int(r[0]) for r in conn.execute(
        "SELECT json_extract(detail_json, '$.call_id') FROM events WHERE kind = 'llm_result' "
        "AND json_extract(detail_json, '$.call_id') IS NOT NULL").fetchall()}
    recorded = ""
    if _has_table(conn, CACHE_TABLE):
        recorded = f"AND prompt_hash NOT IN (SELECT prompt_hash FROM {CACHE_TABLE}) "
    unapplied = conn.execute(
        "SELECT settled_at AS at, id, trigger, bias, confidence, action, cost_usd "
        "FROM llm_calls WHERE status IN (?, ?) AND bias IS NOT NULL AND settled_at >= ? "
        f"AND settled_at < ? {recorded}ORDER BY settled_at, id",
        (*REPLY_STATUSES, to_text(since), to_text(until)),
    ).fetchall()
    replies = [_reply(r, True) for r in applied]
    replies += [_reply(r, False) for r in unapplied if int(r["id"]) not in applied_ids]
    return sorted(replies, key=lambda r: (r.at, not r.applied, r.call_id))


def _reply(row: sqlite3.Row, applied: bool) -> JournalReply:
    return JournalReply(int(row["id"]), from_text(row["at"]), applied, str(row["trigger"]),
                        str(row["bias"]), float(row["confidence"] or 0.0), str(row["action"]),
                        float(row["cost_usd"] or 0.0))


def cached_reply(conn: sqlite3.Connection, prompt_hash: str) -> CachedReply | None:
    """The recorded reply to this prompt (None when not recorded, or no cache table yet)."""
    if not _has_table(conn, CACHE_TABLE):
        return None
    row = conn.execute(
        f"SELECT prompt_hash, reply_json, call_id, cost_usd FROM {CACHE_TABLE} "
        "WHERE prompt_hash = ?", (prompt_hash,)).fetchone()
    if row is None:
        return None
    return CachedReply(str(row["prompt_hash"]), str(row["reply_json"]), row["call_id"],
                       float(row["cost_usd"]))


@dataclass(frozen=True, slots=True)
class NewCachedReply:
    """What ``store_cached_reply`` keeps of one bought reply."""

    prompt_hash: str
    created_at: datetime
    provider: str
    model: str
    template_version: str
    trigger: str
    bar_ts: datetime
    call_id: int | None
    reply: dict[str, object]
    cost_usd: float


def store_cached_reply(conn: sqlite3.Connection, entry: NewCachedReply) -> None:
    """Keep a bought reply under its prompt hash (a later identical prompt replaces it).

    An analyst role's reply without a direction (a bull's, a bear's, the risk reviewer's) is
    kept with an empty bias and action."""
    require_transaction(conn, "store_cached_reply")
    conn.execute(
        f"INSERT OR REPLACE INTO {CACHE_TABLE} (prompt_hash, created_at, provider, model, "
        "template_version, trigger, bar_ts, call_id, reply_json, bias, confidence, action, "
        "cost_usd) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (entry.prompt_hash, to_text(entry.created_at), entry.provider, entry.model,
         entry.template_version, entry.trigger, to_text(entry.bar_ts), entry.call_id,
         json.dumps(entry.reply, sort_keys=True), str(entry.reply.get("bias", "")),
         float(entry.reply.get("confidence", 0.0)),  # type: ignore[arg-type]
         str(entry.reply.get("action", "")),
         entry.cost_usd),
    )


def cached_reply_count(conn: sqlite3.Connection) -> int:
    """How many replies the cache holds."""
    if not _has_table(conn, CACHE_TABLE):
        return 0
    return int(conn.execute(f"SELECT COUNT(*) FROM {CACHE_TABLE}").fetchone()[0])


def call_count(conn: sqlite3.Connection) -> int:
    """Rows of the LLM call log (0 without one)."""
    if not _has_table(conn, "llm_calls"):
        return 0
    return int(conn.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0])


def last_call_id(conn: sqlite3.Connection) -> int:
    """The highest call-log id so far (0 when empty)."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM llm_calls").fetchone()[0])


def prompt_spend(conn: sqlite3.Connection, prompt_hash: str, after_id: int) -> tuple[int, float]:
    """Governed attempts logged for this prompt after call ``after_id``, and their dollars.

    An attempt is a row that took a reservation (not refused, cached or expired); its dollars
    are its settled cost (the reservation while still pending).
    """
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'pending' THEN reserved_usd "
        "ELSE cost_usd END), 0) FROM llm_calls WHERE prompt_hash = ? AND id > ? "
        "AND status NOT IN ('refused', 'cached', 'expired')",
        (prompt_hash, after_id),
    ).fetchone()
    return int(row[0]), float(row[1])
