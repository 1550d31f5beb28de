"""Market snapshots for the prompt: from the live engine's last decision, or from the journal."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from bot.llm.context import Snapshot, pick_features
from bot.llm.prompt_sections import (
    PromptExtras,
    memory_section,
    news_section,
    risk_section,
    session_levels_section,
)
from shared.domain.models import DecisionRecord, Position, TradeRecord
from shared.persistence import codec, journal_store, llm_state, ops_store


def _position(position: Position | None) -> dict[str, Any] | None:
    if position is None:
        return None
    return {"side": position.side.value, "contracts": position.contracts,
            "entry_price": position.entry_price, "stop": position.stop_price,
            "target": position.target_price}


def _trades(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    return [
        {"side": t["side"], "contracts": t["contracts"], "entry": t["entry_price"],
         "exit": t["exit_price"], "exit_reason": t["exit_reason"],
         "pnl_usd": t["pnl_net_cents"] / 100}
        for t in llm_state.recent_trades(conn, limit)
    ] if limit else []


def snapshot_from_decision(
    decision: dict[str, Any], position: Position | None, realized_today_cents: int,
    conn: sqlite3.Connection, trades_limit: int, extras: PromptExtras | None = None,
) -> Snapshot:
    """A snapshot from a journaled decision row (or a ``DecisionRecord`` as a dict)."""
    return snapshot_with_trades(decision, position, realized_today_cents,
                                _trades(conn, trades_limit), extras)


def snapshot_with_trades(
    decision: dict[str, Any], position: Position | None, realized_today_cents: int,
    recent_trades: list[dict[str, Any]], extras: PromptExtras | None = None,
) -> Snapshot:
    """A snapshot from a decision row and the recent trades as given (a backtest's own).

    ``extras`` (the engine's headline count and risk limits) complete the news and risk
    sections; without them the news is "none yet" and the risk shows the day's P&L only.
    """
    features = json.loads(decision["features_json"])
    realized_today_usd = realized_today_cents / 100
    return Snapshot(
        symbol=str(decision["symbol"]), ts=str(decision["ts"]), price=float(decision["close"]),
        features=pick_features(features), regime=json.loads(decision["regime_json"]),
        signal={"action": str(decision["signal_action"]),
                "confidence": round(float(decision["signal_confidence"]), 3)},
        position=_position(position), realized_today_usd=realized_today_usd,
        recent_trades=recent_trades, memory=memory_section(decision.get("memory_json")),
        news=news_section(features, extras), risk=risk_section(realized_today_usd, extras),
        levels=session_levels_section(features),
    )


def trade_rows(trades: list[TradeRecord], limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` of ``trades`` (in exit order) shaped as the prompt has them."""
    if not limit:
        return []
    newest = sorted(reversed(trades), key=lambda t: t.exit_ts, reverse=True)[:limit]
    return [{"side": t.side.value, "contracts": t.contracts, "entry": t.entry_price,
             "exit": t.exit_price, "exit_reason": t.exit_reason.value,
             "pnl_usd": t.pnl_net_cents / 100} for t in newest]


def record_as_row(record: DecisionRecord) -> dict[str, Any]:
    """The fields of a live decision the snapshot needs, shaped like a journal row."""
    return {"symbol": record.symbol, "ts": codec.to_text(record.ts), "close": record.close,
            "features_json": record.features_json, "regime_json": record.regime_json,
            "signal_action": record.signal_action.value,
            "signal_confidence": record.signal_confidence, "memory_json": record.memory_json}


def snapshot_from_journal(conn: sqlite3.Connection, trades_limit: int) -> Snapshot | None:
    """A snapshot from the latest journaled decision (one-off jobs); None before any."""
    decisions = journal_store.recent_decisions(conn, 1)
    if not decisions:
        return None
    decision = decisions[0]
    heartbeat = ops_store.read_bot_state(conn)
    return snapshot_from_decision(
        decision, journal_store.load_position(conn, decision["symbol"]),
        heartbeat.realized_today_cents if heartbeat else 0, conn, trades_limit,
    )
