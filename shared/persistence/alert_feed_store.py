"""Reads of the journal that the alerter follows, each in an id range ``(after, upto]``.

The alerter takes a table's highest id first (``max_id``) and then reads only rows up to it, so
a row committed meanwhile is read on the next pass, never skipped. Read-only; no transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.models import TradeRecord
from shared.persistence.codec import from_text, to_text
from shared.persistence.journal_store import trade_from_row

# Journal tables and the integer key each is followed by (fills have a text key: use rowid).
FOLLOWED = {"events": "id", "fills": "rowid", "order_events": "id", "trades": "id",
            "decisions": "id", "llm_calls": "id"}


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: int
    ts: datetime
    kind: str
    severity: str
    message: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EntryFillRow:
    """An entry fill with its bracket's stop and target as first placed (None if unknown)."""

    row_id: int
    bracket_id: str
    symbol: str
    side: str
    contracts: int
    price: float
    ts: datetime
    stop_price: float | None
    target_price: float | None


@dataclass(frozen=True, slots=True)
class StopMoveRow:
    event_id: int
    ts: datetime
    bracket_id: str
    side: str
    price: float | None
    detail: str


@dataclass(frozen=True, slots=True)
class RiskRefusalRow:
    decision_id: int
    ts: datetime
    rule: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LlmCallRow:
    call_id: int
    created_at: datetime
    trigger: str
    status: str
    error: str
    bias: str | None
    confidence: float | None
    action: str | None
    settled: bool


@dataclass(frozen=True, slots=True)
class LlmDayRow:
    day: str
    calls: int
    cost_usd: float
    calls_warned: bool
    cost_warned: bool


@dataclass(frozen=True, slots=True)
class FinishedRunRow:
    run_id: int
    name: str
    status: str
    message: str
    finished_at: datetime
    metrics: dict[str, Any]


def max_id(conn: sqlite3.Connection, table: str) -> int:
    """The highest key of a followed table (0 when empty)."""
    key = FOLLOWED[table]  # a KeyError here is a programming error, never user input
    return int(conn.execute(f"SELECT COALESCE(MAX({key}), 0) FROM {table}").fetchone()[0])


def max_id_recorded_before(conn: sqlite3.Connection, table: str, before: datetime) -> int:
    """The highest key among rows recorded before ``before`` (where a first start begins)."""
    key = FOLLOWED[table]
    column = "created_at" if table == "llm_calls" else "recorded_at"
    row = conn.execute(f"SELECT COALESCE(MAX({key}), 0) FROM {table} WHERE {column} < ?",
                       (to_text(before),)).fetchone()
    return int(row[0])


def events_between(conn: sqlite3.Connection, after: int, upto: int) -> list[EventRow]:
    rows = conn.execute(
        "SELECT id, ts, kind, severity, message, detail_json FROM events "
        "WHERE id > ? AND id <= ? ORDER BY id", (after, upto),
    ).fetchall()
    result = []
    for r in rows:
        try:
            detail = json.loads(r["detail_json"] or "{}")
        except json.JSONDecodeError:
            detail = {}
        result.append(EventRow(r["id"], from_text(r["ts"]), r["kind"], r["severity"],
                               r["message"], detail if isinstance(detail, dict) else {}))
    return result


def entry_fills_between(conn: sqlite3.Connection, after: int, upto: int) -> list[EntryFillRow]:
    rows = conn.execute(
        "SELECT f.rowid AS row_id, f.bracket_id, f.symbol, f.side, f.contracts, f.price, f.ts, "
        "(SELECT e.price FROM order_events e JOIN orders o ON o.order_id = e.order_id "
        " WHERE o.bracket_id = f.bracket_id AND o.role = 'stop' ORDER BY e.id LIMIT 1) "
        " AS stop_price, "
        "(SELECT e.price FROM order_events e JOIN orders o ON o.order_id = e.order_id "
        " WHERE o.bracket_id = f.bracket_id AND o.role = 'target' ORDER BY e.id LIMIT 1) "
        " AS target_price "
        "FROM fills f WHERE f.rowid > ? AND f.rowid <= ? AND f.role = 'entry' ORDER BY f.rowid",
        (after, upto),
    ).fetchall()
    return [EntryFillRow(r["row_id"], r["bracket_id"], r["symbol"], r["side"], r["contracts"],
                         r["price"], from_text(r["ts"]), r["stop_price"], r["target_price"])
            for r in rows]


def stop_moves_between(conn: sqlite3.Connection, after: int, upto: int) -> list[StopMoveRow]:
    """Order events that moved a working stop (trailing), whatever the broker."""
    rows = conn.execute(
        "SELECT e.id, e.ts, e.price, e.detail, o.bracket_id, o.side FROM order_events e "
        "JOIN orders o ON o.order_id = e.order_id "
        "WHERE e.id > ? AND e.id <= ? AND o.role = 'stop' AND e.status = 'working' "
        "AND e.detail LIKE 'stop moved%' ORDER BY e.id", (after, upto),
    ).fetchall()
    return [StopMoveRow(r["id"], from_text(r["ts"]), r["bracket_id"], r["side"], r["price"],
                        r["detail"]) for r in rows]


def trades_between(
    conn: sqlite3.Connection, after: int, upto: int
) -> list[tuple[int, TradeRecord]]:
    rows = conn.execute(
        "SELECT * FROM trades WHERE id > ? AND id <= ? ORDER BY id", (after, upto)
    ).fetchall()
    return [(int(r["id"]), trade_from_row(r)) for r in rows]


def risk_refusals_between(
    conn: sqlite3.Connection, after: int, upto: int, rules: Sequence[str]
) -> list[RiskRefusalRow]:
    marks = ", ".join("?" for _ in rules)
    rows = conn.execute(
        f"SELECT id, ts, risk_rule, reasons_json FROM decisions WHERE id > ? AND id <= ? "
        f"AND risk_rule IN ({marks}) ORDER BY id", (after, upto, *rules),
    ).fetchall()
    return [RiskRefusalRow(r["id"], from_text(r["ts"]), r["risk_rule"],
                           tuple(json.loads(r["reasons_json"] or "[]"))) for r in rows]


def llm_calls_between(conn: sqlite3.Connection, after: int, upto: int) -> list[LlmCallRow]:
    rows = conn.execute(
        "SELECT id, created_at, trigger, status, error, bias, confidence, action, settled_at "
        "FROM llm_calls WHERE id > ? AND id <= ? ORDER BY id", (after, upto),
    ).fetchall()
    return [LlmCallRow(r["id"], from_text(r["created_at"]), r["trigger"], r["status"],
                       r["error"], r["bias"], r["confidence"], r["action"],
                       r["settled_at"] is not None) for r in rows]


def llm_days_since(conn: sqlite3.Connection, since_day: str) -> list[LlmDayRow]:
    rows = conn.execute(
        "SELECT day, calls, cost_usd, calls_warned, cost_warned FROM llm_daily WHERE day >= ? "
        "ORDER BY day", (since_day,),
    ).fetchall()
    return [LlmDayRow(r["day"], r["calls"], r["cost_usd"], bool(r["calls_warned"]),
                      bool(r["cost_warned"])) for r in rows]


def llm_usage_between(
    conn: sqlite3.Connection, start: datetime, end: datetime
) -> tuple[int, float]:
    """Calls made (refusals excluded) and their cost in [start, end)."""
    row = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM llm_calls WHERE created_at >= ? "
        "AND created_at < ? AND status NOT IN ('refused', 'cached')",
        (to_text(start), to_text(end)),
    ).fetchone()
    return int(row[0]), float(row[1])


def runs_finished_after(conn: sqlite3.Connection, after: str) -> list[FinishedRunRow]:
    """Backtest runs that ended (done or failed) after the ``finished_at`` text ``after``."""
    rows = conn.execute(
        "SELECT id, name, status, message, finished_at, metrics_json FROM backtest_runs "
        "WHERE finished_at IS NOT NULL AND finished_at > ? AND status IN ('done', 'failed') "
        "ORDER BY finished_at, id", (after,),
    ).fetchall()
    result = []
    for r in rows:
        try:
            metrics = json.loads(r["metrics_json"] or "{}")
        except json.JSONDecodeError:
            metrics = {}
        result.append(FinishedRunRow(r["id"], r["name"], r["status"], r["message"],
                                     from_text(r["finished_at"]),
                                     metrics if isinstance(metrics, dict) else {}))
    return result


def latest_finished_at(conn: sqlite3.Connection) -> str:
    """The newest backtest ``finished_at`` text ('' when none)."""
    row = conn.execute("SELECT COALESCE(MAX(finished_at), '') FROM backtest_runs").fetchone()
    return str(row[0])


def decisions_between_times(conn: sqlite3.Connection, start: datetime, end: datetime) -> int:
    """How many decisions the bot made in [start, end) (was the day traded at all?)."""
    row = conn.execute("SELECT COUNT(*) FROM decisions WHERE ts >= ? AND ts < ?",
                       (to_text(start), to_text(end))).fetchone()
    return int(row[0])


PROVIDER_ANSWERED = ("ok", "parse_error")  # the provider replied (a bad reply is still a reply)
PROVIDER_FAILED = ("timeout", "throttled", "error")


@dataclass(frozen=True, slots=True)
class LlmFailureStreak:
    """Failed calls since the last answered one (``answered``: one exists at all)."""

    answered: bool
    failures: int
    first_failure_at: datetime | None
    last_status: str
    last_error: str


def llm_failure_streak(conn: sqlite3.Connection) -> LlmFailureStreak | None:
    """The provider's failures after its last answer; None before any call reached it."""
    answered = conn.execute(
        f"SELECT COALESCE(MAX(id), 0) FROM llm_calls WHERE status IN "
        f"({', '.join('?' for _ in PROVIDER_ANSWERED)})", PROVIDER_ANSWERED).fetchone()[0]
    marks = ", ".join("?" for _ in PROVIDER_FAILED)
    row = conn.execute(
        f"SELECT COUNT(*) AS n, MIN(created_at) AS first FROM llm_calls WHERE id > ? "
        f"AND status IN ({marks})", (answered, *PROVIDER_FAILED)).fetchone()
    if not row["n"]:
        return LlmFailureStreak(True, 0, None, "", "") if answered else None
    last = conn.execute(
        f"SELECT status, error FROM llm_calls WHERE id > ? AND status IN ({marks}) "
        f"ORDER BY id DESC LIMIT 1", (answered, *PROVIDER_FAILED)).fetchone()
    return LlmFailureStreak(bool(answered), int(row["n"]), from_text(row["first"]),
                            str(last["status"]), str(last["error"] or ""))
