"""Trade-log records: the audit record of each trade (the per-trade view of the export).

The audit record keeps seed 002's shape (``input``, ``llm_prediction``, ``actual_outcome``,
``label``): what the system saw, what the LLM in force at entry said, what happened (the
market's move from entry to exit). It is an audit record, not a training format: the training
examples are one per LLM call, labelled by the prompt's own horizon (``call_labels``).
"""

from __future__ import annotations

import json
from typing import Any

from shared.persistence.trade_log_store import TradeLogRow


def outcome_word(pnl_net_cents: int) -> str:
    return "WIN" if pnl_net_cents > 0 else "LOSS" if pnl_net_cents < 0 else "FLAT"


def market_direction(row: TradeLogRow) -> tuple[str, str]:
    """(bias, action) the market's move from entry to exit bore out."""
    move = row.exit_price - row.entry_price
    if move > 0:
        return "BULLISH", "BUY"
    if move < 0:
        return "BEARISH", "SELL"
    return "NEUTRAL", "HOLD"


def _loads(text: str | None) -> Any:
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError:
        return {}


def audit_record(row: TradeLogRow) -> dict[str, Any]:
    """Input, the LLM prediction in force at entry (or null), the outcome and its label."""
    prediction = None
    if row.llm_call_id is not None:
        reply = _loads(row.llm_response)
        prediction = {"call_id": row.llm_call_id, "model": row.llm_model,
                      "bias": row.llm_bias, "confidence": row.llm_confidence,
                      "action": row.llm_action,
                      "rationale": reply.get("rationale") if isinstance(reply, dict) else None}
    bias, _ = market_direction(row)
    correct = None if row.llm_bias is None else row.llm_bias.upper() == bias
    return {
        "trade_id": row.trade_id, "bracket_id": row.bracket_id,
        "input": {"symbol": row.symbol, "decision_ts": row.decision_ts.isoformat()
                  if row.decision_ts else None, "features": _loads(row.features_json),
                  "regime": _loads(row.regime_json), "signal": {
                      "action": row.signal_action, "confidence": row.signal_confidence,
                      "final_confidence": row.final_confidence},
                  "prompt": row.llm_prompt},
        "llm_prediction": prediction,
        "actual_outcome": {
            "outcome": outcome_word(row.pnl_net_cents), "side": row.side,
            "contracts": row.contracts, "entry_ts": row.entry_ts.isoformat(),
            "entry_price": row.entry_price, "exit_ts": row.exit_ts.isoformat(),
            "exit_price": row.exit_price, "exit_reason": row.exit_reason,
            "pnl_gross_cents": row.pnl_gross_cents, "commission_cents": row.commission_cents,
            "pnl_net_cents": row.pnl_net_cents, "realized_pnl_usd": row.pnl_net_cents / 100},
        "label": {"market_bias": bias, "correct_prediction": correct,
                  "pnl_net_cents": row.pnl_net_cents},
    }
