"""Read-side helpers for the LLM page: frames, the cost chart, and the one-off job command.

No streamlit and no boto3 here: the page reads these and writes only commands and headlines.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import plotly.graph_objects as go

from dashboard import fmt
from shared.domain.attribution import Attribution, EntryOutcome, attribute
from shared.persistence import codec, finetune_store, llm_state, llm_store, news_store
from shared.persistence.ops_store import Heartbeat

HEARTBEAT_FRESH_S = 15.0
CALL_COLUMNS = ["id", "created_at", "trigger", "status", "route", "model", "input_tokens",
                "output_tokens", "cost_usd", "latency_ms", "bias", "confidence", "action",
                "error"]


def analyze_command(python: str, command_id: int, db_path: Path, config_path: Path | None
                    ) -> list[str]:
    """The ``python -m bot analyze`` job answering an already claimed command."""
    argv = [python, "-m", "bot", "analyze", "--command-id", str(command_id), "--claimed",
            "--db", str(db_path)]
    if config_path is not None and config_path.exists():
        argv += ["--config", str(config_path)]
    return argv


def bot_is_running(state: Heartbeat | None, now: datetime) -> bool:
    """Whether a bot is beating and running (so it will take queued commands)."""
    if state is None or state.status != "running":
        return False
    age_s = (now - state.heartbeat_at).total_seconds()
    return age_s <= HEARTBEAT_FRESH_S


@dataclass(frozen=True, slots=True)
class ReplySummary:
    """A call's answer for a person: headline, the model's reasoning and its risk notes."""

    headline: str
    rationale: str
    key_factors: tuple[str, ...]
    risk_notes: str
    ok: bool


def _reply_fields(response: str) -> dict[str, Any]:
    """The reply's JSON object (the model's tool input), or {} when it is not one."""
    try:
        data = json.loads(response or "")
    except (json.JSONDecodeError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


class AnsweredCall(Protocol):
    """What a reply summary reads: the call log's row, or the trade story's line of it."""

    call_id: int
    status: str
    bias: str | None
    confidence: float | None
    action: str | None
    cost_usd: float | None
    response: str | None


def reply_summary(call: AnsweredCall) -> ReplySummary:
    """What a call answered: bias, confidence, action, cost, and the rationale and risk notes."""
    fields = _reply_fields(call.response or "")
    confidence = call.confidence
    parts = [f"Call {call.call_id} {call.status}:", call.bias or "no bias"]
    if confidence is not None:
        parts.append(f"confidence {confidence:.2f}")
    if call.action:
        parts.append(str(call.action))
    headline = " ".join(parts) + f" · cost {fmt.cost_usd(call.cost_usd or 0.0)}"
    error = getattr(call, "error", "")  # the call log's row has one; a trade's line does not
    if error:
        headline += f" · {error}"
    factors = fields.get("key_factors") or ()
    if isinstance(factors, str):
        factors = (factors,)
    return ReplySummary(
        headline=headline, rationale=str(fields.get("rationale") or ""),
        key_factors=tuple(str(f) for f in factors if f),
        risk_notes=str(fields.get("risk_notes") or ""), ok=bool(call.bias),
    )


def finetune_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """The fine-tuning jobs, newest first: status, estimate and the held-out verdict."""
    rows = []
    for job in finetune_store.jobs(conn):
        verdict = json.loads(job.evaluation_json) if job.evaluation_json else {}
        rows.append({"created_at": job.created_at, "job": job.job_name, "status": job.status,
                     "base model": job.base_model, "examples": job.train_examples,
                     "held out": job.validation_examples, "estimate_usd": job.estimate_usd,
                     "base Brier": verdict.get("base", {}).get("brier"),
                     "custom Brier": verdict.get("custom", {}).get("brier"),
                     "route allowed": "yes" if job.approved else "no",
                     "note": verdict.get("reason") or job.message or job.custom_model_arn})
    return pd.DataFrame(rows, columns=FINETUNE_COLUMNS)


FINETUNE_COLUMNS = ["created_at", "job", "status", "base model", "examples", "held out",
                    "estimate_usd", "base Brier", "custom Brier", "route allowed", "note"]


def route_cost_frame(conn: sqlite3.Connection, since_day: str = "") -> pd.DataFrame:
    """Calls and dollars per model route (``llm.routes``), dearest first."""
    return pd.DataFrame([{"route": r.route, "model": r.model, "calls": r.calls,
                          "cost_usd": r.cost_usd} for r in llm_store.route_costs(conn, since_day)],
                        columns=["route", "model", "calls", "cost_usd"])


def calls_frame(conn: sqlite3.Connection, limit: int = 200) -> pd.DataFrame:
    """The call log, newest first, the columns the table shows (``id`` is the call id)."""
    rows = llm_store.recent_calls(conn, limit)
    return pd.DataFrame([_call_columns(r) for r in rows], columns=CALL_COLUMNS)


def _call_columns(call: llm_store.LlmCallRow) -> dict[str, Any]:
    values = dataclasses.asdict(call)
    values["id"] = values.pop("call_id")
    return {name: values[name] for name in CALL_COLUMNS}


def calls_shown(calls: pd.DataFrame) -> pd.DataFrame:
    """The call log as the page's table shows it, narrow enough for 1,400 px: tokens as one
    ``in / out`` column and the route beside the model when one chose it (none when the
    default did); missing values stay missing (an empty cell)."""
    shown = calls.copy()
    shown["tokens"] = [
        None if pd.isna(i) and pd.isna(o) else f"{_count(i)} / {_count(o)}"
        for i, o in zip(calls["input_tokens"], calls["output_tokens"], strict=True)]
    shown["model"] = [
        m if not r or r == "default" or pd.isna(r) else f"{r} · {m}"
        for m, r in zip(calls["model"], calls["route"], strict=True)]
    return shown


def _count(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{int(value):,}"


HEADLINE_COLUMNS = ["received_at", "source", "headline", "score", "scorer"]


def headlines_frame(conn: sqlite3.Connection, limit: int = 20) -> pd.DataFrame:
    """The latest headlines, newest first, with their sentiment score and scorer."""
    rows = news_store.recent_headlines(conn, limit)
    return pd.DataFrame([{"received_at": r.received_at, "source": r.source,
                          "headline": r.headline, "score": r.score, "scorer": r.scorer}
                         for r in rows], columns=HEADLINE_COLUMNS)


def cost_history_frame(conn: sqlite3.Connection, today: date, days: int = 30) -> pd.DataFrame:
    """Calls and dollars per UTC day for the last ``days`` days (missing days as zero)."""
    first = today - timedelta(days=days - 1)
    rows = {r.day: r for r in llm_store.daily_history(conn, first.isoformat())}
    days_iso = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    none = llm_store.DailyUsage("", 0, 0.0, 0)
    return pd.DataFrame([{"day": day, "calls": rows.get(day, none).calls,
                          "cost_usd": rows.get(day, none).cost_usd} for day in days_iso])


def cost_chart(history: pd.DataFrame) -> go.Figure:
    """Daily LLM cost (bars) and calls (line) for the history frame."""
    figure = go.Figure()
    figure.add_bar(x=history["day"], y=history["cost_usd"], name="Cost (USD)")
    figure.add_scatter(x=history["day"], y=history["calls"], name="Calls", yaxis="y2",
                       mode="lines+markers")
    most_calls = int(history["calls"].max()) if len(history) else 0
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         yaxis={"title": "USD", "tickformat": "$.4~f", "rangemode": "tozero"},
                         yaxis2={"title": "calls", "overlaying": "y", "side": "right",
                                 "rangemode": "tozero", "tickformat": "d",
                                 "dtick": integer_tick_step(most_calls)},
                         title="LLM cost, last 30 days", legend={"orientation": "h"})
    return figure


def integer_tick_step(largest: int, ticks: int = 5) -> int:
    """A whole-number tick step giving about ``ticks`` ticks up to ``largest`` (never 0.5)."""
    return max(1, math.ceil(largest / ticks))


def detector_frame(conn: sqlite3.Connection, now: datetime | None, cooldown_minutes: float
                   ) -> pd.DataFrame:
    """Last trigger of each kind and the cooldown left at ``now`` (the bot's bar time)."""
    rows = []
    for row in llm_state.last_triggers(conn):
        last = codec.from_text(row["ts"])
        left_min = 0.0
        if now is not None and row["trigger"] != "manual":
            left_min = max(0.0, cooldown_minutes - (now - last).total_seconds() / 60)
        rows.append({"trigger": row["trigger"], "last": last, "cooldown_left_min":
                     round(left_min, 1)})
    return pd.DataFrame(rows, columns=["trigger", "last", "cooldown_left_min"])


def attribution(conn: sqlite3.Connection) -> Attribution:
    """Attribution figures from the journal (decisions, trades and shadow-exit events)."""
    entries = [
        EntryOutcome(float(r["llm_adjustment"]),
                     json.loads(r["labels_json"]).get("verdict_without_llm", "enter"),
                     int(r["pnl_net_cents"]))
        for r in llm_state.llm_entry_outcomes(conn)
    ]
    return attribute(entries, (int(s["pnl_cents"]) for s in llm_state.shadow_exits(conn)))
