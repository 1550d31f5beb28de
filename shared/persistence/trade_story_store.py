"""One trade's story for the dashboard's drill-down: the decision that opened it (reasons,
strategy votes, confidence steps), its orders and fills, and the LLM call whose bias was in
force at entry. Read-only."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from shared.persistence.codec import from_text, to_text


@dataclass(frozen=True, slots=True)
class StrategyVote:
    strategy: str
    action: str
    confidence: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntryDecision:
    """The decision row that submitted the bracket."""

    ts: datetime
    close: float
    verdict: str
    signal_action: str
    signal_confidence: float
    memory_adjustment: float
    llm_adjustment: float
    final_confidence: float
    reasons: tuple[str, ...]
    votes: tuple[StrategyVote, ...]
    regime: dict[str, object]
    labels: dict[str, str]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class OrderLine:
    order_id: str
    role: str
    side: str
    order_type: str
    contracts: int
    price: float | None
    status: str
    exit_reason: str | None
    created_ts: datetime
    updated_ts: datetime


@dataclass(frozen=True, slots=True)
class FillLine:
    order_id: str
    role: str
    side: str
    contracts: int
    price: float
    ts: datetime
    commission_cents: int


@dataclass(frozen=True, slots=True)
class LlmCallLine:
    """The last answered LLM call before the entry (its bias may have been in force)."""

    call_id: int
    created_at: datetime
    trigger: str
    status: str
    bias: str | None
    confidence: float | None
    action: str | None
    cost_usd: float
    response: str


@dataclass(frozen=True, slots=True)
class TradeStory:
    decision: EntryDecision | None
    orders: tuple[OrderLine, ...]
    fills: tuple[FillLine, ...]
    llm_call: LlmCallLine | None


def _votes(text: str) -> tuple[StrategyVote, ...]:
    votes = []
    for vote in json.loads(text or "[]"):
        votes.append(StrategyVote(str(vote.get("strategy", "")), str(vote.get("action", "")),
                                  float(vote.get("confidence", 0.0)),
                                  tuple(str(r) for r in vote.get("reasons", []))))
    return tuple(votes)


def entry_decision(conn: sqlite3.Connection, bracket_id: str) -> EntryDecision | None:
    """The decision that submitted ``bracket_id`` (None for a bracket without one)."""
    row = conn.execute(
        "SELECT ts, close, verdict, signal_action, signal_confidence, memory_adjustment, "
        "llm_adjustment, final_confidence, reasons_json, votes_json, regime_json, labels_json, "
        "recorded_at "
        "FROM decisions WHERE bracket_id = ? ORDER BY id LIMIT 1", (bracket_id,),
    ).fetchone()
    if row is None:
        return None
    return EntryDecision(
        ts=from_text(row["ts"]), close=row["close"], verdict=row["verdict"],
        signal_action=row["signal_action"], signal_confidence=row["signal_confidence"],
        memory_adjustment=row["memory_adjustment"], llm_adjustment=row["llm_adjustment"],
        final_confidence=row["final_confidence"],
        reasons=tuple(json.loads(row["reasons_json"] or "[]")), votes=_votes(row["votes_json"]),
        regime=json.loads(row["regime_json"] or "{}"),
        labels=json.loads(row["labels_json"] or "{}"), recorded_at=from_text(row["recorded_at"]),
    )


def bracket_orders(conn: sqlite3.Connection, bracket_id: str) -> tuple[OrderLine, ...]:
    """Every order of the bracket (entry, stop, target, exits) in the order they were placed."""
    rows = conn.execute(
        "SELECT order_id, role, side, order_type, contracts, price, status, exit_reason, "
        "created_ts, updated_ts FROM orders WHERE bracket_id = ? ORDER BY created_ts, order_id",
        (bracket_id,),
    ).fetchall()
    return tuple(OrderLine(r["order_id"], r["role"], r["side"], r["order_type"], r["contracts"],
                           r["price"], r["status"], r["exit_reason"], from_text(r["created_ts"]),
                           from_text(r["updated_ts"])) for r in rows)


def bracket_fills(conn: sqlite3.Connection, bracket_id: str) -> tuple[FillLine, ...]:
    """The bracket's fills in time order."""
    rows = conn.execute(
        "SELECT order_id, role, side, contracts, price, ts, commission_cents FROM fills "
        "WHERE bracket_id = ? ORDER BY ts, fill_id", (bracket_id,),
    ).fetchall()
    return tuple(FillLine(r["order_id"], r["role"], r["side"], r["contracts"], r["price"],
                          from_text(r["ts"]), r["commission_cents"]) for r in rows)


def llm_call_before(conn: sqlite3.Connection, recorded_at: datetime) -> LlmCallLine | None:
    """The latest LLM call with a bias made at or before ``recorded_at`` (wall-clock time,
    like the call log's; bar time runs apart from it in an accelerated paper run)."""
    try:
        row = conn.execute(
            "SELECT id, created_at, trigger, status, bias, confidence, action, cost_usd, "
            "response FROM llm_calls WHERE bias IS NOT NULL AND created_at <= ? "
            "ORDER BY created_at DESC, id DESC LIMIT 1", (to_text(recorded_at),),
        ).fetchone()
    except sqlite3.OperationalError:  # a journal from before the LLM tables
        return None
    if row is None:
        return None
    return LlmCallLine(row["id"], from_text(row["created_at"]), row["trigger"], row["status"],
                       row["bias"], row["confidence"], row["action"], row["cost_usd"],
                       row["response"])


def trade_story(conn: sqlite3.Connection, bracket_id: str) -> TradeStory:
    """Everything the drill-down shows for one trade (the LLM call only when a bias other than
    neutral was in force at entry)."""
    decision = entry_decision(conn, bracket_id)
    call = None
    if decision is not None and decision.labels.get("bias", "neutral") != "neutral":
        call = llm_call_before(conn, decision.recorded_at)
    return TradeStory(decision, bracket_orders(conn, bracket_id),
                      bracket_fills(conn, bracket_id), call)


