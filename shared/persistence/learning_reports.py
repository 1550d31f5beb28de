"""Read-side SQL of the Memory page: win rate by bucket, memory size and growth, the latest
memory verdict, and the decisions learned rules acted on.

The ``memory`` table and ``decisions.memory_json`` belong to the memory feature (issue 11,
memory part); these queries check that they exist and return nothing when they do not.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.persistence.codec import from_text


@dataclass(frozen=True, slots=True)
class BucketStats:
    """Closed trades of one side in one trend/volatility bucket."""

    side: str
    trend: str
    volatility: str
    trades: int
    wins: int
    net_pnl_cents: int

    @property
    def win_rate(self) -> float:
        return self.wins / self.trades if self.trades else 0.0


def win_rate_by_bucket(conn: sqlite3.Connection) -> list[BucketStats]:
    """Every side/trend/volatility bucket with closed trades, most trades first."""
    rows = conn.execute(
        "SELECT side, COALESCE(trend, '?') AS trend, COALESCE(volatility, '?') AS volatility, "
        "COUNT(*) AS n, SUM(pnl_net_cents > 0) AS wins, SUM(pnl_net_cents) AS net "
        "FROM trades GROUP BY 1, 2, 3 ORDER BY n DESC, 1, 2, 3").fetchall()
    return [BucketStats(r["side"], r["trend"], r["volatility"], r["n"], r["wins"] or 0,
                        r["net"] or 0) for r in rows]


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (name,)).fetchone() is not None


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r["name"] == column for r in conn.execute(f"PRAGMA table_info({table})"))


@dataclass(frozen=True, slots=True)
class MemoryGrowth:
    """Setups stored per day of entry, and how many of them have closed."""

    day: str
    stored: int
    closed: int


def memory_growth(conn: sqlite3.Connection) -> list[MemoryGrowth] | None:
    """Setups per entry day (None when this database has no ``memory`` table)."""
    if not _has_table(conn, "memory"):
        return None
    rows = conn.execute(
        "SELECT substr(entry_ts, 1, 10) AS day, COUNT(*) AS stored, "
        "SUM(closed_ts IS NOT NULL) AS closed FROM memory GROUP BY 1 ORDER BY 1").fetchall()
    return [MemoryGrowth(r["day"], r["stored"], r["closed"] or 0) for r in rows]


@dataclass(frozen=True, slots=True)
class MemoryVerdictRow:
    """The latest decision memory was consulted on, with its verdict (f11a's memory_json)."""

    decision_id: int
    ts: datetime
    verdict: str
    risk_rule: str | None
    signal_action: str
    memory: dict[str, Any]


def latest_memory_verdict(conn: sqlite3.Connection) -> MemoryVerdictRow | None:
    """The latest decision with a memory verdict (None without one or without the column)."""
    if not _has_column(conn, "decisions", "memory_json"):
        return None
    row = conn.execute(
        "SELECT id, ts, verdict, risk_rule, signal_action, memory_json FROM decisions "
        "WHERE memory_json != '{}' ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return MemoryVerdictRow(row["id"], from_text(row["ts"]), row["verdict"], row["risk_rule"],
                            row["signal_action"], json.loads(row["memory_json"]))


@dataclass(frozen=True, slots=True)
class RuleDecision:
    """A decision on which learned rules were in force (and what they did)."""

    decision_id: int
    ts: datetime
    verdict: str
    risk_rule: str | None
    reasons: list[str]
    rules: dict[str, Any]


def rule_decisions(conn: sqlite3.Connection, limit: int = 20) -> list[RuleDecision]:
    """The latest decisions on which a learned rule was in force, newest first."""
    rows = conn.execute(
        "SELECT id, ts, verdict, risk_rule, reasons_json, rules_json FROM decisions "
        "WHERE rules_json != '{}' ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [RuleDecision(r["id"], from_text(r["ts"]), r["verdict"], r["risk_rule"],
                         json.loads(r["reasons_json"]), json.loads(r["rules_json"]))
            for r in rows]
