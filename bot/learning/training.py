"""Trade-log records: the audit record of each trade and its fine-tuning example.

The audit record keeps seed 002's shape (``input``, ``llm_prediction``, ``actual_outcome``,
``label``): what the system saw, what the LLM in force at entry said, what happened. It is an
audit record, not a training format. The training example is Bedrock's conversational format:
the logged prompt as the user turn and an outcome-corrected answer (same JSON shape as the
model's reply) as the assistant turn. Labels come from the market's move over the trade:
up -> BULLISH/BUY, down -> BEARISH/SELL, unchanged -> NEUTRAL/HOLD; decisive exits (target,
stop) get a firmer confidence than time exits.
"""

from __future__ import annotations

import json
from typing import Any

from shared.persistence.trade_log_store import TradeLogRow

DECISIVE_EXITS = frozenset({"target", "stop", "trailing_stop", "disaster_stop"})


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


def corrected_answer(row: TradeLogRow) -> dict[str, Any]:
    """The reply the model should have given, in its own reply schema."""
    bias, action = market_direction(row)
    decisive = row.exit_reason in DECISIVE_EXITS
    confidence = 0.3 if bias == "NEUTRAL" else 0.75 if decisive else 0.55
    move = row.exit_price - row.entry_price
    minutes = (row.exit_ts - row.entry_ts).total_seconds() / 60
    original = _loads(row.llm_response)
    factors = original.get("key_factors") if isinstance(original, dict) else None
    right = row.llm_bias is not None and row.llm_bias.upper() == bias
    return {
        "bias": bias, "confidence": confidence, "action": action,
        "rationale": (f"Over the next {minutes:.0f} minutes the price moved {move:+.2f} points "
                      f"({row.entry_price:g} to {row.exit_price:g}, {row.exit_reason})."),
        "key_factors": list(factors) if right and isinstance(factors, list) else [],
        "risk_notes": "" if decisive else "the move was small and slow (time exit)",
    }


def training_record(row: TradeLogRow) -> dict[str, Any] | None:
    """The fine-tuning example of a trade with an LLM call in force (None without one)."""
    if row.llm_call_id is None or not (row.llm_prompt or "").strip():
        return None
    record: dict[str, Any] = {}
    if (row.llm_system_prompt or "").strip():
        record["system"] = row.llm_system_prompt
    record["messages"] = [
        {"role": "user", "content": row.llm_prompt},
        {"role": "assistant", "content": json.dumps(corrected_answer(row), sort_keys=True)},
    ]
    return record
