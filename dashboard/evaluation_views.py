"""View code of the layers' evidence (``python -m bot evaluate --save``): one compact table per
layer, each row a saved evaluation in its two forms (whole run; walk-forward), with its verdict.

No streamlit here: the Memory page (and any page showing a layer) lays these out.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pandas as pd

from shared.persistence import evaluation_store
from shared.persistence.evaluation_store import EvaluationRun

FORMS = (("whole_run", "whole run"), ("walk_forward", "walk-forward (out of sample)"))
HOW_TO = ("No evaluation saved yet. Judge memory against a placebo with: "
          "python -m bot evaluate --layer memory --data FILE --save")


def how_to(layer: str) -> str:
    """What to run to get a layer's first saved evaluation."""
    extra = {"llm": " --llm-journal data/trader.db", "rules": " --rules data/trader.db",
             "news": " --news FILE.csv"}.get(layer, "")
    return (f"No evaluation saved yet. Judge the {layer} layer against a placebo with: "
            f"python -m bot evaluate --layer {layer} --data FILE{extra} --save")


def layer_runs(conn: sqlite3.Connection, layer: str, limit: int = 10) -> list[EvaluationRun]:
    """The latest saved evaluations of ``layer`` (none when the table does not exist yet)."""
    if not evaluation_store.has_evaluation_table(conn):
        return []
    return evaluation_store.evaluation_runs(conn, layer, limit)


def _interval(evidence: dict[str, Any], key: str) -> str:
    found = evidence.get("bootstrap", {}).get(key, {})
    estimate, low, high = (found.get(k) for k in ("estimate", "low", "high"))
    if estimate is None or low is None or high is None:
        return "n/a"
    return f"{estimate:+,.2f} [{low:,.2f}, {high:,.2f}]"


def evidence_row(run: EvaluationRun, form: str, label: str) -> dict[str, Any] | None:
    """One row of the table: a run's evidence in one form (None when it lacks that form)."""
    evidence = run.result.get(form)
    if not isinstance(evidence, dict):
        return None
    on, off = evidence.get("on", {}), evidence.get("off", {})
    placebo = evidence.get("placebo", {})
    data = run.data if not run.planted_edge else f"{run.data} + {run.planted_edge}"
    return {
        "run": run.id, "saved (UTC)": run.created_at.strftime("%Y-%m-%d %H:%M"), "data": data,
        "form": label, "trades off/on": f"{off.get('trades')}/{on.get('trades')}",
        "net off $": off.get("net_usd"), "net on $": on.get("net_usd"),
        "placebo net $ (mean)": placebo.get("mean_net_usd"),
        "placebo runs": placebo.get("runs"), "percentile": evidence.get("percentile"),
        "$/trade on-off [95% CI]": _interval(evidence, "per_trade_usd"),
        "net on-off $ [95% CI]": _interval(evidence, "net_usd"),
        "verdict": evidence.get("verdict", ""),
    }


def evidence_frame(runs: list[EvaluationRun]) -> pd.DataFrame:
    """The compact evidence table of one layer's saved evaluations, newest first."""
    rows = [row for run in runs for form, label in FORMS
            if (row := evidence_row(run, form, label)) is not None]
    return pd.DataFrame(rows)


def headline(runs: list[EvaluationRun]) -> str | None:
    """The latest evaluation's plain verdict, out of sample first (None without one)."""
    if not runs:
        return None
    latest = runs[0]
    return (f"Walk-forward: {latest.walk_forward_verdict}. Whole run: {latest.verdict}. "
            f"(run {latest.id} on {latest.data}, {latest.seeds} placebo seeds)")


def comparison_note(layer: str, runs: list[EvaluationRun]) -> str:
    """Beside an off/on backtest comparison: what the placebo evaluation says of the layer."""
    line = headline(runs)
    if line is None:
        return (f"An off/on difference alone is no evidence: refusing as many entries at "
                f"random may do as well. {how_to(layer)}")
    return f"Against a placebo (latest saved evaluation of {layer}): {line}"
