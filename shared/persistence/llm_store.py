"""Every SQL statement of the LLM: governor reservations, the call log, provider state, news.

Callers own transactions, as everywhere in ``shared/persistence``: run ``reserve_call`` inside
``db.write_transaction`` (``BEGIN IMMEDIATE``) and the check of the day's calls and dollars and
the reservation are one atomic step, shared by every process that calls, so two callers can
never both take the last unit of the quota. A write outside a transaction is refused.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from shared.persistence.codec import from_text, optional_ts, to_text
from shared.persistence.db import require_transaction

STATUS_PENDING = "pending"
STATUS_REFUSED = "refused"
STATUS_CACHED = "cached"
STATUS_EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class CallRequest:
    """What is about to be sent, as the call log records it."""

    created_at: datetime
    day: str
    trigger: str
    trigger_json: str
    command_id: int | None
    provider: str
    model: str
    template_version: str
    prompt_hash: str
    system_prompt: str
    prompt: str
    mode: str = ""  # llm.mode when the call was made (the calibration ledger's breakdown)
    route: str = ""  # the llm.routes entry that chose the model ("default" when none matched)


@dataclass(frozen=True, slots=True)
class Limits:
    """The day's governor limits."""

    call_quota: int
    cost_limit_usd: float
    warn_fraction: float


@dataclass(frozen=True, slots=True)
class Reservation:
    """The outcome of a reservation: a call id, or the reason it was refused; 80% warnings."""

    call_id: int
    granted: bool
    reason: str
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Settlement:
    """What came back from a call, as logged."""

    status: str
    response: str
    error: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float
    latency_ms: float | None
    retry_attempts: int
    bias: str | None
    confidence: float | None
    action: str | None
    settled_at: datetime


@dataclass(frozen=True, slots=True)
class LlmCallRow:
    """One row of the call log (``llm_calls``), every column.

    ``created_at`` and ``settled_at`` (None while pending) are tz-aware UTC; ``day`` is the UTC
    day as ISO text (``2026-01-02``), the governor's key. ``status`` is ``pending`` or how the
    call ended; ``bias`` and ``action`` are the model's words (``BULLISH``, ``SELL``) or None.
    """

    call_id: int
    created_at: datetime
    day: str
    trigger: str
    trigger_json: str
    command_id: int | None
    provider: str
    model: str
    template_version: str
    prompt_hash: str
    system_prompt: str
    prompt: str
    response: str
    status: str
    error: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reserved_usd: float
    cost_usd: float
    latency_ms: float | None
    retry_attempts: int
    bias: str | None
    confidence: float | None
    action: str | None
    settled_at: datetime | None
    route: str = ""  # the llm.routes entry that chose the model ("" before routing)


@dataclass(frozen=True, slots=True)
class RouteCost:
    """Calls and dollars of one route and model (``llm.routes``; "default" when none matched)."""

    route: str
    model: str
    calls: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One UTC day of the governor's counters: calls let through, dollars spent or reserved,
    and calls refused."""

    day: str
    calls: int
    cost_usd: float
    refused: int


# The row's fields are the table's columns in order, ``id`` named ``call_id``.
_CALL_COLUMNS = ", ".join("id" if f.name == "call_id" else f.name for f in fields(LlmCallRow))


def _call_row(row: sqlite3.Row) -> LlmCallRow:
    values = dict(row)
    values["call_id"] = values.pop("id")
    values["created_at"] = from_text(values["created_at"])
    values["settled_at"] = optional_ts(values["settled_at"])
    return LlmCallRow(**values)


_INSERT_CALL = (
    "INSERT INTO llm_calls (created_at, day, trigger, trigger_json, command_id, provider, "
    "model, template_version, prompt_hash, system_prompt, prompt, status, error, reserved_usd, "
    "mode, route) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _insert_call(
    conn: sqlite3.Connection, req: CallRequest, status: str, error: str, reserved_usd: float
) -> int:
    cursor = conn.execute(_INSERT_CALL, (
        to_text(req.created_at), req.day, req.trigger, req.trigger_json, req.command_id,
        req.provider, req.model, req.template_version, req.prompt_hash, req.system_prompt,
        req.prompt, status, error, reserved_usd, req.mode, req.route,
    ))
    return int(cursor.lastrowid or 0)


def _warnings(row: sqlite3.Row, limits: Limits, calls: int, cost_usd: float) -> list[str]:
    found = []
    if not row["calls_warned"] and calls >= limits.warn_fraction * limits.call_quota:
        found.append(f"LLM calls today {calls} of {limits.call_quota} "
                     f"({limits.warn_fraction:.0%} warning)")
    if not row["cost_warned"] and cost_usd >= limits.warn_fraction * limits.cost_limit_usd:
        found.append(f"LLM cost today ${cost_usd:.4f} of ${limits.cost_limit_usd:.2f} "
                     f"({limits.warn_fraction:.0%} warning)")
    return found


def reserve_call(
    conn: sqlite3.Connection, req: CallRequest, reserve_usd: float, limits: Limits
) -> Reservation:
    """Atomically check today's calls and dollars and reserve one call of ``reserve_usd``."""
    require_transaction(conn, "reserve_call")
    conn.execute("INSERT OR IGNORE INTO llm_daily (day) VALUES (?)", (req.day,))
    row = conn.execute("SELECT * FROM llm_daily WHERE day = ?", (req.day,)).fetchone()
    reason = ""
    if row["calls"] + 1 > limits.call_quota:
        reason = f"daily call quota reached ({row['calls']} of {limits.call_quota})"
    elif row["cost_usd"] + reserve_usd > limits.cost_limit_usd + 1e-12:
        reason = (f"daily cost limit: ${row['cost_usd']:.4f} spent or reserved + "
                  f"${reserve_usd:.4f} > ${limits.cost_limit_usd:.2f}")
    if reason:
        conn.execute("UPDATE llm_daily SET refused = refused + 1 WHERE day = ?", (req.day,))
        call_id = _insert_call(conn, req, STATUS_REFUSED, reason, 0.0)
        conn.execute("UPDATE llm_calls SET settled_at = created_at WHERE id = ?", (call_id,))
        return Reservation(call_id, False, reason, ())
    calls, cost_usd = row["calls"] + 1, row["cost_usd"] + reserve_usd
    warnings = _warnings(row, limits, calls, cost_usd)
    conn.execute(
        "UPDATE llm_daily SET calls = ?, cost_usd = ?, "
        "calls_warned = calls_warned OR ?, cost_warned = cost_warned OR ? WHERE day = ?",
        (calls, cost_usd, int(calls >= limits.warn_fraction * limits.call_quota),
         int(cost_usd >= limits.warn_fraction * limits.cost_limit_usd), req.day),
    )
    call_id = _insert_call(conn, req, STATUS_PENDING, "", reserve_usd)
    return Reservation(call_id, True, "", tuple(warnings))


def settle_call(conn: sqlite3.Connection, call_id: int, result: Settlement) -> None:
    """Record a call's outcome and replace its reserved dollars by the actual cost."""
    require_transaction(conn, "settle_call")
    row = conn.execute("SELECT day, reserved_usd FROM llm_calls WHERE id = ?",
                       (call_id,)).fetchone()
    if row is None:
        raise KeyError(f"no LLM call {call_id}")
    conn.execute(
        "UPDATE llm_daily SET cost_usd = MAX(0, cost_usd + ? - ?) WHERE day = ?",
        (result.cost_usd, row["reserved_usd"], row["day"]),
    )
    conn.execute(
        "UPDATE llm_calls SET status = ?, response = ?, error = ?, stop_reason = ?, "
        "input_tokens = ?, output_tokens = ?, cache_read_tokens = ?, cache_write_tokens = ?, "
        "cost_usd = ?, latency_ms = ?, retry_attempts = ?, bias = ?, confidence = ?, "
        "action = ?, settled_at = ? WHERE id = ?",
        (result.status, result.response, result.error, result.stop_reason,
         result.input_tokens, result.output_tokens, result.cache_read_tokens,
         result.cache_write_tokens, result.cost_usd, result.latency_ms,
         result.retry_attempts, result.bias, result.confidence, result.action,
         to_text(result.settled_at), call_id),
    )


def cached_reply(
    conn: sqlite3.Connection, prompt_hash: str, since: datetime
) -> LlmCallRow | None:
    """The newest successful call with this prompt hash made at or after ``since``."""
    row = conn.execute(
        f"SELECT {_CALL_COLUMNS} FROM llm_calls "
        "WHERE prompt_hash = ? AND status = 'ok' AND created_at >= ? ORDER BY id DESC LIMIT 1",
        (prompt_hash, to_text(since)),
    ).fetchone()
    return _call_row(row) if row else None


def log_cached_call(
    conn: sqlite3.Connection, req: CallRequest, source: LlmCallRow, settled_at: datetime
) -> int:
    """Log a reply reused from an identical earlier prompt (no cost, no quota)."""
    require_transaction(conn, "log_cached_call")
    call_id = _insert_call(conn, req, STATUS_CACHED, "", 0.0)
    conn.execute(
        "UPDATE llm_calls SET response = ?, bias = ?, confidence = ?, action = ?, "
        "stop_reason = ?, error = ?, latency_ms = 0, settled_at = ? WHERE id = ?",
        (source.response, source.bias, source.confidence, source.action,
         source.stop_reason, f"reused the reply of call {source.call_id}",
         to_text(settled_at), call_id),
    )
    return call_id


@dataclass(frozen=True, slots=True)
class DerivedReply:
    """A reply made of other logged calls (the analyst roles' combined answer)."""

    bias: str
    confidence: float
    action: str
    response: str
    note: str


def log_derived_reply(
    conn: sqlite3.Connection, req: CallRequest, reply: DerivedReply, settled_at: datetime
) -> int:
    """Log a reply derived from calls already logged: no HTTP request, no cost, no quota.

    Its status is ``cached`` (a reply that cost nothing more), so the governor's counts and
    the journal replay treat it as they treat a reused reply."""
    require_transaction(conn, "log_derived_reply")
    call_id = _insert_call(conn, req, STATUS_CACHED, "", 0.0)
    conn.execute(
        "UPDATE llm_calls SET response = ?, bias = ?, confidence = ?, action = ?, error = ?, "
        "latency_ms = 0, settled_at = ? WHERE id = ?",
        (reply.response, reply.bias, reply.confidence, reply.action, reply.note,
         to_text(settled_at), call_id),
    )
    return call_id


def log_discarded_call(
    conn: sqlite3.Connection, req: CallRequest, status: str, reason: str
) -> int:
    """Log a request dropped before any HTTP attempt (e.g. too old): no cost, no quota."""
    require_transaction(conn, "log_discarded_call")
    call_id = _insert_call(conn, req, status, reason, 0.0)
    conn.execute("UPDATE llm_calls SET settled_at = created_at WHERE id = ?", (call_id,))
    return call_id


def governed_attempts(conn: sqlite3.Connection) -> dict[str, int]:
    """HTTP attempts the governor let through, counted two ways (they must agree).

    ``rows``: call-log rows that took a reservation (every status but refused, cached and
    expired); ``daily_calls``: the sum of ``llm_daily.calls`` over all days.
    """
    rows = conn.execute(
        "SELECT COUNT(*) FROM llm_calls WHERE status NOT IN (?, ?, ?)",
        (STATUS_REFUSED, STATUS_CACHED, STATUS_EXPIRED),
    ).fetchone()[0]
    daily = conn.execute("SELECT COALESCE(SUM(calls), 0) FROM llm_daily").fetchone()[0]
    return {"rows": int(rows), "daily_calls": int(daily)}


def route_costs(conn: sqlite3.Connection, since_day: str = "") -> list[RouteCost]:
    """Calls (every logged attempt but refused and expired ones) and dollars per route and
    model from ``since_day`` on (UTC ISO day; everything when empty), dearest first."""
    rows = conn.execute(
        "SELECT route, model, COUNT(*) AS calls, COALESCE(SUM(cost_usd), 0) AS cost "
        "FROM llm_calls WHERE day >= ? AND status NOT IN (?, ?) GROUP BY route, model "
        "ORDER BY cost DESC, route", (since_day, STATUS_REFUSED, STATUS_EXPIRED)).fetchall()
    return [RouteCost(str(r["route"]) or "default", str(r["model"]), int(r["calls"]),
                      float(r["cost"])) for r in rows]


def status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many call-log rows have each status."""
    rows = conn.execute("SELECT status, COUNT(*) AS n FROM llm_calls GROUP BY status").fetchall()
    return {str(r["status"]): int(r["n"]) for r in rows}


def _daily(row: sqlite3.Row) -> DailyUsage:
    return DailyUsage(row["day"], int(row["calls"]), float(row["cost_usd"]), int(row["refused"]))


def daily_usage(conn: sqlite3.Connection, day: str) -> DailyUsage:
    """Calls, dollars (spent + reserved) and refusals of one UTC day (zeros before any)."""
    row = conn.execute("SELECT day, calls, cost_usd, refused FROM llm_daily WHERE day = ?",
                       (day,)).fetchone()
    return _daily(row) if row else DailyUsage(day, 0, 0.0, 0)


def daily_history(conn: sqlite3.Connection, since_day: str) -> list[DailyUsage]:
    """Per-day calls and cost from ``since_day`` on, oldest first."""
    rows = conn.execute(
        "SELECT day, calls, cost_usd, refused FROM llm_daily WHERE day >= ? ORDER BY day",
        (since_day,),
    ).fetchall()
    return [_daily(r) for r in rows]


def recent_calls(conn: sqlite3.Connection, limit: int = 200) -> list[LlmCallRow]:
    """The latest calls, newest first (every column)."""
    rows = conn.execute(f"SELECT {_CALL_COLUMNS} FROM llm_calls ORDER BY id DESC LIMIT ?",
                        (limit,)).fetchall()
    return [_call_row(r) for r in rows]


def call_for_command(conn: sqlite3.Connection, command_id: int) -> LlmCallRow | None:
    """The call made for a manual-trigger command, once it exists."""
    row = conn.execute(
        f"SELECT {_CALL_COLUMNS} FROM llm_calls WHERE command_id = ? ORDER BY id DESC LIMIT 1",
        (command_id,),
    ).fetchone()
    return _call_row(row) if row else None


def trigger_detail(payload: dict[str, Any]) -> str:
    """Serialise a trigger payload for the call log."""
    return json.dumps(payload, sort_keys=True, default=str)


def abandon_pending(conn: sqlite3.Connection, before: datetime, at: datetime) -> int:
    """Close calls still pending from before ``before`` (their process died mid-call).

    They keep their reserved dollars as their cost: a call past its deadline may be billed.
    """
    require_transaction(conn, "abandon_pending")
    cursor = conn.execute(
        "UPDATE llm_calls SET status = 'timeout', cost_usd = reserved_usd, settled_at = ?, "
        "error = 'abandoned: the calling process stopped before the reply' "
        "WHERE status = ? AND created_at < ?",
        (to_text(at), STATUS_PENDING, to_text(before)),
    )
    return cursor.rowcount
