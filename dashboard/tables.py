"""Column layouts of the dashboard's tables: order, widths and number formats.

Money columns come first after the identifying ones so they are never pushed off the right
edge at 1,024-1,400 px; formats match ``dashboard.fmt`` (dollars with cents, LLM cost with four
decimals, prices with two).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import fmt

_money = st.column_config.NumberColumn
TIME = "YYYY-MM-DD HH:mm:ss"
SHORT_TIME = "MM-DD HH:mm:ss"


MISSING = "—"
YES = "✓"


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for a person: booleans (and 0/1 flag columns holding only those) as ✓ / —, and
    no "None" in a text column (an empty cell reads as —)."""
    result = frame.copy()
    for name in result.columns:
        column = result[name]
        if pd.api.types.is_bool_dtype(column):
            result[name] = pd.Series([YES if v else MISSING for v in column], index=result.index,
                                     dtype=object)
        elif pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            values = [MISSING if v is None or (isinstance(v, float) and pd.isna(v)) else v
                      for v in column]
            if all(isinstance(v, bool) or v == MISSING for v in values) and any(
                    isinstance(v, bool) for v in values):
                values = [YES if v is True else MISSING for v in values]
            result[name] = pd.Series(values, index=result.index, dtype=object)
    return result


def _time(label: str) -> st.column_config.DatetimeColumn:
    return st.column_config.DatetimeColumn(label, format=TIME)


TRADES = {
    "bracket_id": st.column_config.TextColumn("trade", width="small"),
    "side": st.column_config.TextColumn("side", width="small"),
    "contracts": st.column_config.NumberColumn("qty", width="small"),
    "pnl_net_usd": _money("net P&L", format=fmt.USD_COLUMN),
    "pnl_gross_usd": _money("gross P&L", format=fmt.USD_COLUMN),
    "commission_usd": _money("commission", format=fmt.USD_COLUMN),
    "entry_ts": _time("entry time"),
    "entry_price": _money("entry", format=fmt.PRICE_COLUMN),
    "exit_ts": _time("exit time"),
    "exit_price": _money("exit", format=fmt.PRICE_COLUMN),
    "exit_reason": st.column_config.TextColumn("exit reason"),
    "time_bucket": st.column_config.TextColumn("time of day"),
    "bias_at_entry": st.column_config.TextColumn("LLM bias at entry"),
}
TRADE_ORDER = ("bracket_id", "side", "contracts", "pnl_net_usd", "entry_ts", "entry_price",
               "exit_ts", "exit_price", "exit_reason", "pnl_gross_usd", "commission_usd",
               "trend", "volatility", "time_bucket", "bias_at_entry", "symbol")
DECISIONS = {
    "ts": _time("time"),
    "close": _money("close", format=fmt.PRICE_COLUMN),
    "final_confidence": _money("confidence", format="%.3f"),
    "reasons": st.column_config.TextColumn("reasons", width="large"),
    "action_taken": st.column_config.TextColumn("action taken"),
    "signal_action": st.column_config.TextColumn("signal"),
    "risk_rule": st.column_config.TextColumn("risk rule"),
}
DECISION_ORDER = ("ts", "verdict", "action_taken", "final_confidence", "reasons", "close",
                  "signal_action", "risk_rule")
# LLM page tables: every column named for a reader; the call log's twelve columns (tokens in
# one, the route beside the model) have pixel widths that fit 1,400 px without a scroll.
# Shown with ``placeholder=""`` (EMPTY): a missing value is an empty cell, never "None".
EMPTY = ""
_text = st.column_config.TextColumn
LLM_CALLS = {  # pixel widths summing to 915: the main column is ~940 px at 1,400
    "id": st.column_config.NumberColumn("call", width=50, format="%d"),
    "created_at": st.column_config.DatetimeColumn("time", format=SHORT_TIME, width=105),
    "trigger": _text("trigger", width=100),
    "status": _text("status", width=65),
    "cost_usd": _money("cost", format=fmt.COST_COLUMN, width=70),
    "bias": _text("bias", width=65),
    "confidence": _money("confidence", format="%.2f", width=75),
    "action": _text("action", width=60),
    "latency_ms": _money("latency ms", format="%.0f", width=70),
    "tokens": _text("tokens in / out", width=95),
    "model": _text("model", width=100),
    "error": _text("error", width=60),
}
LLM_HEADLINES = {
    "received_at": _time("received"),
    "created_at": _time("received"),
    "source": _text("source", width="small"),
    "headline": _text("headline", width="large"),
    "score": st.column_config.NumberColumn(
        "score", format="%+.2f", width="small", help="Sentiment in [-1, 1]; empty until scored"),
    "scorer": _text("scored by", width="small"),
}
LLM_DETECTOR = {
    "trigger": _text("trigger"),
    "last": _time("last fired"),
    "cooldown_left_min": st.column_config.NumberColumn("cooldown left (min)", format="%.1f"),
}
LLM_CALIBRATION = {
    "calls": st.column_config.NumberColumn("calls", width="small"),
    "hit_rate": st.column_config.NumberColumn("hit rate", format="percent"),
    "hit_low": st.column_config.NumberColumn("hit rate low (95 %)", format="percent"),
    "hit_high": st.column_config.NumberColumn("hit rate high (95 %)", format="percent"),
    "mean_confidence": st.column_config.NumberColumn("mean confidence", format="percent"),
    "brier": st.column_config.NumberColumn("Brier", format="%.3f"),
    "base_rate": st.column_config.NumberColumn("commonest move", format="percent"),
}
FINETUNE_JOBS = {
    "created_at": _time("started"),
    "held out": st.column_config.NumberColumn("held out", width="small"),
    "examples": st.column_config.NumberColumn("examples", width="small"),
    "estimate_usd": _money("estimate", format=fmt.USD_COLUMN),
    "base Brier": _money("base Brier", format="%.3f"),
    "custom Brier": _money("custom Brier", format="%.3f"),
    "note": st.column_config.TextColumn("note", width="large"),
}
LLM_ROUTES = {
    "route": st.column_config.TextColumn("route"),
    "model": st.column_config.TextColumn("model", width="large"),
    "cost_usd": _money("cost", format=fmt.COST_COLUMN),
    "calls": st.column_config.NumberColumn("calls"),
}
LLM_CALL_ORDER = ("id", "created_at", "trigger", "status", "cost_usd", "bias", "confidence",
                  "action", "latency_ms", "tokens", "model", "error")
RUNS = {
    "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
    "created_at": _time("created"),
    "finished_at": _time("finished"),
    "message": st.column_config.TextColumn("message", width="large"),
}
RUN_ORDER = ("id", "name", "kind", "status", "progress", "created_at", "message")
MEMORY_BUCKETS = {
    "win rate": _money("win rate", format="percent"),
    "net $": _money("net P&L", format=fmt.USD_COLUMN),
}
SWEEP_POINTS = {
    "objective": _money("objective", format="%.2f"),
    "net P&L $": _money("net P&L", format=fmt.USD_COLUMN),
    "win rate": _money("win rate", format="%.1f%%"),
    "profit factor": _money("profit factor", format="%.2f"),
    "Sharpe": _money("Sharpe", format="%.2f"),
    "max DD $": _money("max drawdown", format=fmt.USD_COLUMN),
}
ALERT_CHANNELS = {
    "last sent": _time("last sent"),
    "last error at": _time("last error at"),
    "reported": _time("reported"),
}
# what a channel did last before how it is set up, so it is on screen at 1,024 px
ALERT_CHANNEL_ORDER = ("channel", "configured", "last sent", "last error", "problem", "queued",
                       "last error at", "url (masked)", "reported")
ALERT_DELIVERIES = {
    "raised": _time("raised"),
    "finished": _time("finished"),
    "headline": st.column_config.TextColumn("headline", width="large"),
}
# the headline before the counters, so it is on screen at 1,024 px
ALERT_DELIVERY_ORDER = ("id", "raised", "kind", "channel", "status", "headline", "level",
                        "attempts", "parts", "error", "finished", "source")
