"""View code of the Memory page: frames and charts from the learning tables.

No streamlit here: the page lays these out. The page's only writes are rule decisions (through
``rules_store.decide_rule``, author ``dashboard``) and starting export jobs.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from shared.config.settings import MemoryConfig
from shared.persistence import learning_reports, rules_store, trade_log_store
from shared.persistence.memory_calibration import Calibration, MemorySize
from shared.persistence.rules_store import RuleRow

DECIDER = "dashboard"


def bucket_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """Win rate and net P&L by side and regime bucket."""
    rows = learning_reports.win_rate_by_bucket(conn)
    return pd.DataFrame([{"side": b.side, "trend": b.trend, "volatility": b.volatility,
                          "trades": b.trades, "wins": b.wins,
                          "win rate": round(b.win_rate, 3), "net $": b.net_pnl_cents / 100}
                         for b in rows])


def calibration_lines(calibration: Calibration | None) -> tuple[str, str]:
    """Memory's Brier score beside the base rate's, and what it means (plain numbers)."""
    if calibration is None:
        return ("Calibration: no decision memory judged has a known outcome yet.",
                "Each consulted entry's predicted win probability is scored once its trade "
                "(or its shadow, if refused) closed.")
    c = calibration
    return (f"Brier score {c.brier:.3f} vs {c.base_brier:.3f} for the base rate "
            f"({c.base_rate:.0%} wins) over {c.decisions} decisions ({c.shadows} refused, "
            "judged by their shadow)", f"{c.meaning()} Lower is better.")


def cold_start_line(cfg: MemoryConfig, size: MemorySize | None) -> str:
    """Whether the cold-start allowance is in force, with the counts behind it."""
    stored = 0 if size is None else size.closed
    shadows = 0 if size is None else size.shadows
    counts = f"memory holds {stored} closed setups, {shadows} of them refused entries' shadows"
    if not cfg.enabled:
        return (f"Memory is off (memory.enabled: false): it refuses nothing; {counts}, "
                "recorded so it is ready when switched on.")
    floor = (f"; entries still need {cfg.min_similar_trades} similar setups "
             "(min_similar_trades)" if cfg.min_similar_trades else "")
    if cfg.cold_start_setups == 0:
        return f"Cold start: off (cold_start_setups 0); {counts}{floor}."
    if stored >= cfg.cold_start_setups:
        return (f"Cold start: inactive, {counts} (at least cold_start_setups "
                f"{cfg.cold_start_setups}): "
                f"the expected-value test decides{floor}.")
    policy = "let through" if cfg.cold_start == "allow" else "refused"
    return (f"Cold start: active, {counts} (fewer than cold_start_setups "
            f"{cfg.cold_start_setups}): "
            f"entries are {policy} without the expected-value test{floor}.")


def growth_figure(growth: list[learning_reports.MemoryGrowth]) -> go.Figure:
    """Stored setups per day and their running total."""
    days = [g.day for g in growth]
    total, running = [], 0
    for g in growth:
        running += g.stored
        total.append(running)
    figure = go.Figure()
    figure.add_bar(x=days, y=[g.stored for g in growth], name="stored that day")
    figure.add_scatter(x=days, y=total, name="memory size", mode="lines+markers")
    figure.update_layout(height=280, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                         title="Memory size and growth")
    # one labelled bar per day (a date axis stretches a single day into milliseconds)
    figure.update_xaxes(type="category")
    return figure


def neighbours_frame(memory: dict[str, Any]) -> pd.DataFrame:
    """The similar setups of a memory verdict: distance, outcome, date."""
    return pd.DataFrame([{"bracket": n.get("bracket_id"), "distance": n.get("distance"),
                          "weight": n.get("weight"), "net $": (n.get("pnl_net_cents") or 0) / 100,
                          "R": n.get("r_multiple"), "exit": n.get("exit_reason"),
                          "date": str(n.get("decision_ts", ""))[:19]}
                         for n in memory.get("neighbours", [])])


def rule_line(rule: RuleRow) -> str:
    """A rule's headline: id, status, kind and summary."""
    return f"#{rule.id} · {rule.status.value} · {rule.kind} — {rule.summary}"


def _usd(cents: int | None) -> str:
    if cents is None:
        return "n/a"
    return f"{'-' if cents < 0 else '+'}${abs(cents) / 100:,.2f}"


def _interval(cents: list[int] | None) -> str:
    return f"[{_usd(cents[0])}, {_usd(cents[1])}]" if cents else ""


def backtest_line(rule: RuleRow) -> str:
    """The out-of-sample gate's result in one sentence."""
    test = rule.backtest
    if "error" in test:
        return f"Out-of-sample gate: not run ({test['error']})"
    if not test:
        return "Backtest: none"
    line = (f"Gate over {len(test.get('days', []))} days ({test.get('bars', 0):,} bars): "
            f"without ${test['without']['net_pnl_cents'] / 100:,.2f} in "
            f"{test['without']['trades']} trades, with ${test['with']['net_pnl_cents'] / 100:,.2f}"
            f" in {test['with']['trades']} trades")
    if "passed" not in test:  # stored before the out-of-sample gate
        return f"{line} ({'improved' if test.get('improved') else 'not improved'})"
    verdict = "passed out of sample" if test["passed"] else "did not pass out of sample"
    return f"{line}; p={test['p_value']:.3f}, q={test['q_value']:.3f} ({verdict})"


def evidence_frame(rule: RuleRow) -> pd.DataFrame:
    """In-sample (mined) and out-of-sample (gate) evidence side by side, one row each."""
    inside = rule.evidence.get("in_sample")
    outside = rule.evidence.get("out_of_sample")
    if inside is None or outside is None:
        return pd.DataFrame()
    days_in, days_out = inside.get("days") or [], outside.get("days") or []
    rows = [
        {"sample": "in sample (mined)", "days": " to ".join(days_in),
         "trades": inside.get("trades"),
         "effect $": _usd(inside.get("estimated_improvement_cents")),
         "95% interval": "", "p": None, "q (BH)": None, "verdict": "fitted here: optimistic"},
        {"sample": "out of sample (gate)",
         "days": f"{days_out[0]} to {days_out[-1]}" if days_out else "",
         "trades": outside.get("trades_without"),
         "effect $": _usd(outside.get("improvement_cents")),
         "95% interval": _interval(outside.get("effect_ci_cents")),
         "p": outside.get("p_value"), "q (BH)": outside.get("q_value"),
         "verdict": outside.get("not_run") or ("passed" if outside.get("passed") else
                                               "not passed")},
    ]
    return pd.DataFrame(rows)


def history_frame(conn: sqlite3.Connection, rule_id: int) -> pd.DataFrame:
    """Every version of a rule: status, who, when, why."""
    return pd.DataFrame([{"version": e.version, "status": e.status.value, "by": e.author,
                          "at": e.at.strftime("%Y-%m-%d %H:%M:%S UTC"), "note": e.note}
                         for e in rules_store.rule_history(conn, rule_id)])


def rule_decisions_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    """The latest decisions learned rules acted on."""
    return pd.DataFrame([{"time": d.ts.strftime("%Y-%m-%d %H:%M:%S"), "verdict": d.verdict,
                          "rule": d.risk_rule or "", "reasons": "; ".join(d.reasons)}
                         for d in learning_reports.rule_decisions(conn)])


def export_command(python: str, db_path: Path, config_path: Path | None, since: date,
                   until: date | None, out: Path, s3_uri: str, token: str) -> list[str]:
    """The ``python -m bot export-training`` job the page starts."""
    argv = [python, "-m", "bot", "export-training", "--since", since.isoformat(), "--out",
            str(out), "--db", str(db_path), "--token", token]
    if until is not None:
        argv += ["--until", until.isoformat()]
    if s3_uri.strip():
        argv += ["--s3", s3_uri.strip()]
    if config_path is not None and config_path.exists():
        argv += ["--config", str(config_path)]
    return argv


def export_rows(conn: sqlite3.Connection) -> list[trade_log_store.ExportRun]:
    """The latest export runs."""
    return trade_log_store.export_runs(conn)
