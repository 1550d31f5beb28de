"""Research page views: tables and plotly figures of sweeps, walk-forwards and Monte Carlo runs,
and turning a chosen parameter set into a config edit (validated and diffed by the editor).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import yaml

from dashboard import fmt
from dashboard.config_editor import FieldError, validate_config
from shared.config.backtest_request import split_params
from shared.config.settings import STRATEGY_NAMES, Settings
from shared.persistence.research_store import ResearchRunSummary

OBJECTIVE_LABELS = {"net_pnl": "Net P&L ($)", "sharpe": "Sharpe", "profit_factor":
                    "Profit factor", "pnl_minus_drawdown": "Net P&L - w x drawdown ($)"}
_MONEY_OBJECTIVES = ("net_pnl", "pnl_minus_drawdown")


def objective_display(document: dict[str, Any], value: float | None) -> float | None:
    """An objective value as shown: dollars for the money objectives."""
    if value is None:
        return None
    return value / 100 if document.get("objective") in _MONEY_OBJECTIVES else value


def points_frame(document: dict[str, Any]) -> pd.DataFrame:
    """A sweep's points: parameters, objective and headline metrics (money in dollars)."""
    rows = []
    for point in document["points"]:
        metrics = point["metrics"]
        rows.append({**point["params"], "objective": objective_display(document,
                                                                       point["objective"]),
                     "net P&L $": _dollars(metrics["net_pnl_cents"]), "trades": metrics["trades"],
                     "win rate": _percent(metrics["win_rate"]),
                     "profit factor": metrics["profit_factor"],
                     "Sharpe": metrics["sharpe"],
                     "max DD $": _dollars(metrics["max_drawdown_cents"])})
    return pd.DataFrame(rows).sort_values("objective", ascending=False, na_position="last")


def runs_frame(runs: list[ResearchRunSummary]) -> pd.DataFrame:
    """The runs table: one row per research run, newest first as listed."""
    return pd.DataFrame([{"id": r.id, "name": r.name, "kind": r.kind, "status": r.status,
                          "progress": r.progress, "created_at": r.created_at,
                          "message": r.message} for r in runs])


def best_first(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sweep points by objective, best first (undefined last; ties in grid order)."""
    return sorted(points, key=lambda p: (p["objective"] is None, -(p["objective"] or 0.0)))


def _percent(fraction: float | None) -> float | None:
    """A fraction as percent points, shown with one decimal like every win rate."""
    return None if fraction is None else fraction * 100


def _dollars(cents: float | None) -> float | None:
    return None if cents is None else cents / 100


def heatmap_figure(document: dict[str, Any], x_key: str, y_key: str) -> go.Figure:
    """The objective over two grid parameters (the best over any other parameters)."""
    frame = pd.DataFrame([{**p["params"], "objective": objective_display(document, p["objective"])}
                          for p in document["points"]])
    grid = document["grid"]
    table = frame.groupby([y_key, x_key])["objective"].max().unstack(x_key)
    table = table.reindex(index=grid[y_key], columns=grid[x_key])
    # Diverging around break-even (0; 1 for a profit factor): a losing cell is never green,
    # however much less it lost than its neighbours.
    middle = 1.0 if document.get("objective") == "profit_factor" else 0.0
    figure = go.Figure(go.Heatmap(z=table.to_numpy(), x=[str(v) for v in table.columns],
                                  y=[str(v) for v in table.index], colorscale="RdYlGn",
                                  zmid=middle, colorbar={"title": "objective"},
                                  hovertemplate=f"{x_key}=%{{x}}<br>{y_key}=%{{y}}<br>"
                                                "objective=%{z:,.2f}<extra></extra>"))
    figure.update_layout(title=OBJECTIVE_LABELS.get(document.get("objective", ""), "objective"),
                         xaxis_title=x_key, yaxis_title=y_key, height=420,
                         margin={"t": 50, "b": 40, "l": 60, "r": 20})
    figure.update_xaxes(type="category")
    figure.update_yaxes(type="category")
    return figure


def windows_frame(document: dict[str, Any]) -> pd.DataFrame:
    """A walk-forward's windows: chosen parameters, in-sample vs out-of-sample headline figures."""
    rows = []
    for window in document["windows"]:
        ins, outs = window["in_sample"], window["out_of_sample"]
        rows.append({"window": window["number"], "test from": window["test_start"][:16],
                     "test to": window["test_end"][:16], **window["params"],
                     "IS net $": _dollars(ins["net_pnl_cents"]), "IS trades": ins["trades"],
                     "IS Sharpe": ins["sharpe"], "OOS net $": _dollars(outs["net_pnl_cents"]),
                     "OOS trades": outs["trades"], "OOS Sharpe": outs["sharpe"],
                     "OOS max DD $": _dollars(outs["max_drawdown_cents"])})
    stitched = document["stitched"]
    rows.append({"window": "stitched", "OOS net $": _dollars(stitched["net_pnl_cents"]),
                 "OOS trades": stitched["trades"], "OOS Sharpe": stitched["sharpe"],
                 "OOS max DD $": _dollars(stitched["max_drawdown_cents"])})
    return pd.DataFrame(rows)


def stability_frame(document: dict[str, Any]) -> pd.DataFrame:
    """How stable each chosen parameter was across windows."""
    return pd.DataFrame([{"parameter": key, "chosen per window": ", ".join(entry["values"]),
                          "distinct": entry["distinct"], "most common": entry["most_common"],
                          "share": entry["most_common_share"], "mean": entry.get("mean"),
                          "cv": entry.get("cv")} for key, entry in document["stability"].items()])


def stitched_equity_figure(document: dict[str, Any]) -> go.Figure:
    """Realized equity of the stitched out-of-sample trades."""
    points = document["equity"]
    figure = go.Figure(go.Scatter(x=[p[0] for p in points], y=[p[1] / 100 for p in points],
                                  mode="lines", line_shape="hv",
                                  name="out-of-sample equity"))
    for window in document["windows"][1:]:
        figure.add_vline(x=window["test_start"], line_dash="dot", line_color="grey")
    figure.update_layout(title="Stitched out-of-sample equity ($)", height=360,
                         margin={"t": 50, "b": 40, "l": 60, "r": 20})
    return figure


def fan_figure(document: dict[str, Any]) -> go.Figure:
    """Monte Carlo fan: equity percentile bands (5-95, 25-75) and the median, by trade."""
    fan = document["fan"]
    x, bands = fan["trades"], {int(k): [v / 100 for v in values]
                              for k, values in fan["bands"].items()}
    figure = go.Figure()
    for low, high, shade in ((5, 95, "rgba(31,119,180,0.15)"), (25, 75, "rgba(31,119,180,0.3)")):
        figure.add_trace(go.Scatter(x=x, y=bands[high], mode="lines", line={"width": 0},
                                    showlegend=False, hoverinfo="skip"))
        figure.add_trace(go.Scatter(x=x, y=bands[low], mode="lines", line={"width": 0},
                                    fill="tonexty", fillcolor=shade, name=f"{low}-{high}%"))
    figure.add_trace(go.Scatter(x=x, y=bands[50], mode="lines", name="median",
                                line={"color": "rgb(31,119,180)"}))
    figure.add_hline(y=document["ruin_equity_cents"] / 100, line_dash="dash",
                     line_color="firebrick", annotation_text="ruin")
    figure.update_layout(title="Equity after N trades ($)", xaxis_title="trades", height=400,
                         margin={"t": 50, "b": 40, "l": 60, "r": 20})
    return figure


def percentiles_frame(document: dict[str, Any]) -> pd.DataFrame:
    """Percentiles of final P&L and max drawdown as money text, lowest percentile first (the
    stored keys are text: "25" sorts before "5")."""
    found = document["percentiles"]
    order = sorted(found["final_pnl_cents"], key=float)
    return pd.DataFrame([{"Percentile": f"{float(p):g} %",
                          "Final P&L": fmt.usd(found["final_pnl_cents"][p]),
                          "Max drawdown": fmt.usd(found["max_drawdown_cents"][p])}
                         for p in order])


def config_with_params(settings: Settings, params: dict[str, str], strategy: str | None
                       ) -> tuple[Settings | None, list[FieldError], list[str]]:
    """The config with a parameter set applied, validated like an edit in the config editor.

    Dotted keys are settings; a bare key is the chosen ensemble strategy's parameter. Keys that
    name no config setting (a reference strategy's own parameters) are returned, not applied.
    """
    data = settings.model_dump(mode="json")
    dotted, bare = split_params(params)
    skipped = []
    for key, text in bare.items():
        if strategy in STRATEGY_NAMES:
            dotted[f"strategies.{strategy}.{key}"] = text
        else:
            skipped.append(key)
    for key, text in dotted.items():
        node = data
        *sections, name = key.split(".")
        for section in sections:
            node = node.setdefault(section, {})
        try:
            node[name] = yaml.safe_load(text)
        except yaml.YAMLError:
            return None, [FieldError(key, f"not a value: {text!r}")], skipped
    validated, errors = validate_config(data)
    return validated, errors, skipped
