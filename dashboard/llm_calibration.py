"""The LLM page's calibration ledger: the journal's answered calls scored, and their charts.

Read-only; the scoring is ``shared.domain.calibration``'s, the same the live bot (for
``llm.skill_scaled``) and the backtests use. No streamlit here.
"""

from __future__ import annotations

import sqlite3
from functools import partial

import pandas as pd
import plotly.graph_objects as go

from shared.domain.calibration import (
    Calibration,
    ScoredCall,
    by_decile,
    by_key,
    calibration,
    score_calls,
    skill,
)
from shared.persistence import calibration_store

CALLS_READ = 2000


def ledger(conn: sqlite3.Connection, limit: int = CALLS_READ) -> tuple[list[ScoredCall], int]:
    """The latest answered calls scored against the journaled bars; and how many were not."""
    calls = calibration_store.answered_calls(conn, limit=limit)
    return score_calls(calls, partial(calibration_store.close_at, conn))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def meaning(figures: Calibration, min_calls: int, measured_skill: float) -> str:
    """One line saying what the figures mean for a trader."""
    if figures.calls == 0 or figures.hit_rate is None:
        return ("No call scored yet: a call is scored once the bar 45 minutes after its prompt "
                "is journaled.")
    better = (figures.hit_low or 0.0) > (figures.base_rate or 0.0)
    verdict = ("better than always naming the commonest move" if better else
               "not shown better than always naming the commonest move")
    line = (f"Right {_pct(figures.hit_rate)} of {figures.calls} scored calls (95 % "
            f"{_pct(figures.hit_low)}-{_pct(figures.hit_high)}) at a mean confidence of "
            f"{_pct(figures.mean_confidence)}, against {_pct(figures.base_rate)} for the "
            f"commonest move: {verdict}. Brier {figures.brier:.3f} (0 is perfect, lower is "
            f"better).")
    if figures.calls < min_calls:
        return line + f" Skill needs {min_calls} scored calls; so far it counts as 0."
    return line + f" Skill {measured_skill:.2f} (what llm.skill_scaled would scale the nudge by)."


def _rows(groups: dict[str, Calibration], name: str) -> pd.DataFrame:
    return pd.DataFrame([
        {name: key, "calls": f.calls, "hit_rate": f.hit_rate, "hit_low": f.hit_low,
         "hit_high": f.hit_high, "mean_confidence": f.mean_confidence, "brier": f.brier,
         "base_rate": f.base_rate}
        for key, f in groups.items()])


def decile_frame(scored: list[ScoredCall]) -> pd.DataFrame:
    """Hit rate and Brier per confidence decile."""
    return _rows({f"{low:.1f}-{high:.1f}": f for low, high, f in by_decile(scored)},
                  "confidence")


def trigger_frame(scored: list[ScoredCall]) -> pd.DataFrame:
    """Figures per trigger kind."""
    return _rows(by_key(scored, lambda s: s.trigger), "trigger")


def model_frame(scored: list[ScoredCall]) -> pd.DataFrame:
    """Figures per model and mode."""
    return _rows(by_key(scored, lambda s: f"{s.model} · {s.mode}"), "model · mode")


def reliability_figure(scored: list[ScoredCall]) -> go.Figure:
    """Hit rate against stated confidence per decile; a calibrated model sits on the diagonal."""
    deciles = by_decile(scored)
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="calibrated",
                                line={"dash": "dash", "color": "grey"}))
    figure.add_trace(go.Scatter(
        x=[f.mean_confidence for _, _, f in deciles], y=[f.hit_rate for _, _, f in deciles],
        mode="markers+lines", name="this model",
        error_y={"type": "data", "symmetric": False,
                 "array": [(f.hit_high or 0) - (f.hit_rate or 0) for _, _, f in deciles],
                 "arrayminus": [(f.hit_rate or 0) - (f.hit_low or 0) for _, _, f in deciles]},
        text=[f"{f.calls} calls" for _, _, f in deciles],
        hovertemplate="confidence %{x:.2f}<br>right %{y:.0%}<br>%{text}<extra></extra>"))
    overall = calibration(scored)
    if overall.base_rate is not None:
        figure.add_hline(y=overall.base_rate, line={"dash": "dot"},
                         annotation_text="commonest move")
    figure.update_layout(xaxis_title="stated confidence", yaxis_title="share right",
                         xaxis_range=[0, 1], yaxis_range=[0, 1], height=360,
                         margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


__all__ = ["calibration", "decile_frame", "ledger", "meaning", "model_frame", "reliability_figure",
           "skill", "trigger_frame"]
