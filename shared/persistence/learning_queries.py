"""Read-only SQL of the nightly review: trades with their entry decision, the day's decisions
and LLM calls, and the journaled bars a with/without backtest replays."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from shared.config.llm_roles import ROLE_CALL_VERSION_PREFIX
from shared.domain.models import Bar
from shared.persistence.codec import from_text, to_text


@dataclass(frozen=True, slots=True)
class ReviewTrade:
    """A closed trade with what its entry decision knew (confidence, the LLM call in force)."""

    trade_id: int
    bracket_id: str
    side: str
    contracts: int
    entry_ts: datetime
    exit_ts: datetime
    exit_reason: str
    pnl_net_cents: int
    trend: str | None
    volatility: str | None
    time_bucket: str | None
    entry_confidence: float | None
    decision_id: int | None
    llm_call_id: int | None


def review_trades(conn: sqlite3.Connection, since: datetime, until: datetime) -> list[ReviewTrade]:
    """Trades that closed in [since, until), oldest first, each with its entry decision."""
    rows = conn.execute(
        "SELECT t.*, d.id AS decision_id, d.final_confidence, d.llm_call_id "
        "FROM trades t LEFT JOIN decisions d ON d.id = (SELECT MIN(x.id) FROM decisions x "
        "WHERE x.bracket_id = t.bracket_id) "
        "WHERE t.exit_ts >= ? AND t.exit_ts < ? ORDER BY t.exit_ts, t.id",
        (to_text(since), to_text(until)),
    ).fetchall()
    return [
        ReviewTrade(
            trade_id=r["id"], bracket_id=r["bracket_id"], side=r["side"],
            contracts=r["contracts"], entry_ts=from_text(r["entry_ts"]),
            exit_ts=from_text(r["exit_ts"]), exit_reason=r["exit_reason"],
            pnl_net_cents=r["pnl_net_cents"], trend=r["trend"], volatility=r["volatility"],
            time_bucket=r["time_bucket"], entry_confidence=r["final_confidence"],
            decision_id=r["decision_id"], llm_call_id=r["llm_call_id"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class DayActivity:
    """How the day's decisions ended and what its LLM calls did."""

    decisions: int
    entries: int
    rejections_by_rule: dict[str, int]
    llm_calls: int
    llm_calls_by_status: dict[str, int]
    llm_cost_usd: float


def day_activity(conn: sqlite3.Connection, since: datetime, until: datetime) -> DayActivity:
    """Counts of decisions (by verdict and risk rule) and LLM calls in [since, until)."""
    window = (to_text(since), to_text(until))
    verdicts = dict(conn.execute(
        "SELECT verdict, COUNT(*) FROM decisions WHERE ts >= ? AND ts < ? GROUP BY verdict",
        window).fetchall())
    rules = dict(conn.execute(
        "SELECT risk_rule, COUNT(*) FROM decisions WHERE ts >= ? AND ts < ? "
        "AND risk_rule IS NOT NULL GROUP BY risk_rule", window).fetchall())
    calls = dict(conn.execute(
        "SELECT status, COUNT(*) FROM llm_calls WHERE created_at >= ? AND created_at < ? "
        "GROUP BY status", window).fetchall())
    cost = conn.execute(
        "SELECT COALESCE(SUM(cost_usd), 0) FROM llm_calls WHERE created_at >= ? "
        "AND created_at < ?", window).fetchone()[0]
    return DayActivity(sum(verdicts.values()), int(verdicts.get("enter", 0)),
                       {str(k): int(v) for k, v in rules.items()}, sum(calls.values()),
                       {str(k): int(v) for k, v in calls.items()}, float(cost))


def bars_between(conn: sqlite3.Connection, symbol: str, since: datetime,
                 until: datetime) -> list[Bar]:
    """Journaled bars of ``symbol`` starting in [since, until), oldest first."""
    rows = conn.execute(
        "SELECT ts, open, high, low, close, volume FROM bars WHERE symbol = ? AND ts >= ? "
        "AND ts < ? ORDER BY ts", (symbol, to_text(since), to_text(until))).fetchall()
    return [Bar(from_text(r["ts"]), r["open"], r["high"], r["low"], r["close"], r["volume"])
            for r in rows]


def bars_before(conn: sqlite3.Connection, symbol: str, until: datetime, count: int) -> list[Bar]:
    """The ``count`` journaled bars of ``symbol`` before ``until``, oldest first (warm-up)."""
    rows = conn.execute(
        "SELECT ts, open, high, low, close, volume FROM bars WHERE symbol = ? AND ts < ? "
        "ORDER BY ts DESC LIMIT ?", (symbol, to_text(until), count)).fetchall()
    return [Bar(from_text(r["ts"]), r["open"], r["high"], r["low"], r["close"], r["volume"])
            for r in reversed(rows)]


@dataclass(frozen=True, slots=True)
class MarketCall:
    """One logged LLM call about the market (not a review's lesson), with its prompt."""

    call_id: int
    created_at: datetime
    trigger: str
    system_prompt: str
    prompt: str


def market_calls(conn: sqlite3.Connection, created_since: datetime) -> list[MarketCall]:
    """Calls (every attempt) logged since ``created_since`` with a prompt, oldest first; an
    analyst role's own call is left out (the roles' combined answer is a market call)."""
    rows = conn.execute(
        "SELECT id, created_at, trigger, system_prompt, prompt FROM llm_calls "
        "WHERE created_at >= ? AND trigger NOT IN ('review', 'evaluation') AND prompt != '' "
        "AND substr(template_version, 1, ?) != ? ORDER BY id",
        (to_text(created_since), len(ROLE_CALL_VERSION_PREFIX),
         ROLE_CALL_VERSION_PREFIX)).fetchall()
    return [MarketCall(int(r["id"]), from_text(r["created_at"]), str(r["trigger"]),
                       str(r["system_prompt"]), str(r["prompt"])) for r in rows]
