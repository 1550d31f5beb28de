"""Plotly figures and tables of a finished backtest run for the dashboard's Backtest page."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import charts, fmt, reports, zones
from shared.domain.models import TradeRecord

HEADLINE_METRICS = (
    ("net_pnl_cents", "Net P&L", "usd"), ("trades", "Trades", "int"),
    ("win_rate", "Win rate", "pct"), ("profit_factor", "Profit factor", "ratio"),
    ("expectancy_cents", "Expectancy", "usd"), ("sharpe", "Sharpe (daily)", "ratio"),
    ("sortino", "Sortino (daily)", "ratio"), ("max_drawdown_cents", "Max drawdown", "usd"),
    ("exposure", "Exposure", "pct"), ("trades_per_day", "Trades per day", "ratio"),
    ("buy_and_hold_cents", "Buy & hold", "usd"),
)


READABLE_TRADES = 60  # trades a price chart opens on; more markers overlap into a smear

# A horizontal legend in the top margin, below the title (never on top of it).
LEGEND_UNDER_TITLE = {"orientation": "h", "yanchor": "bottom", "y": 1.01, "xanchor": "left",
                      "x": 0.0}


def format_metric(value: Any, kind: str) -> str:
    """Render one metric for a card or a comparison table (None = not defined)."""
    if value is None:
        return "n/a"
    if kind == "usd":
        return fmt.usd(value)
    if kind == "pct":
        return fmt.percent(value)
    if kind == "int":
        return f"{value:,.0f}"
    return f"{value:.2f}"


MEMORY_METRICS = (
    ("trades", "Trades", "int"), ("net_pnl_cents", "Net P&L", "usd"),
    ("max_drawdown_cents", "Max drawdown", "usd"),
    ("memory_refused", "Entries refused by memory", "int"),
    ("memory_refused_closed", "Refused entries followed to their exit", "int"),
    ("memory_refused_net_pnl_cents", "What they would have made (net)", "usd"),
    ("memory_setups", "Setups in memory at the end", "int"),
    ("memory_seeded_setups", "Setups seeded from a journal", "int"),
)


def memory_label(metrics: dict[str, Any]) -> str:
    """Whether a run had memory on (None: a run from before memory was recorded)."""
    enabled = metrics.get("memory_enabled")
    return "n/a" if enabled is None else ("on" if enabled else "off")


def memory_comparison_table(runs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Memory off and on side by side: trades, P&L, drawdown, refusals and their shadow P&L."""
    rows = {"Memory": [memory_label(m) for m in runs.values()]}
    for key, label, kind in MEMORY_METRICS:
        rows[label] = [format_metric(m.get(key), kind) for m in runs.values()]
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(runs))


def comparison_table(runs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Headline metrics side by side: one row per metric, one column per run."""
    rows = {label: [format_metric(m.get(key), kind) for m in runs.values()]
            for key, label, kind in HEADLINE_METRICS}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(runs))


def equity_drawdown_figure(points: list[tuple[Any, int, int]], zone: str) -> go.Figure:
    """Realized equity (top) and drawdown below the running peak (bottom), in dollars, with
    the time axis (in ``zone``) under the drawdown panel only."""
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                           vertical_spacing=0.06)
    times = charts.wall_clock(pd.to_datetime([p[0] for p in points], utc=True).tz_convert(zone))
    figure.add_trace(go.Scatter(x=times, y=[p[1] / 100 for p in points], name="Equity",
                                line_shape="hv"), row=1, col=1)
    figure.add_trace(go.Scatter(x=times, y=[p[2] / 100 for p in points], name="Drawdown",
                                fill="tozeroy", line_shape="hv", line={"color": "crimson"}),
                     row=2, col=1)
    figure.update_layout(height=460, margin={"l": 10, "r": 10, "t": 70, "b": 10},
                         title=f"Equity and drawdown ($), times in {zone}",
                         legend=LEGEND_UNDER_TITLE)
    figure.update_xaxes(showticklabels=False, row=1, col=1)
    figure.update_yaxes(tickformat="$,.0f")
    return figure


def trades_figure(candles: dict[str, list[Any]], trades: list[TradeRecord], zone: str
                  ) -> go.Figure:
    """Price candles with each trade's entry (▲ long / ▼ short) and exit (×) marked. With
    more than ``READABLE_TRADES`` trades the chart opens on the last ones (every trade is
    drawn; zoom out or double-click to see all), with the price axis fitted to that window."""
    times = charts.wall_clock(pd.to_datetime(candles.get("ts", []), utc=True).tz_convert(zone))
    figure = go.Figure(go.Candlestick(
        x=times, open=candles.get("open", []), high=candles.get("high", []),
        low=candles.get("low", []), close=candles.get("close", []), name="Price",
    ))
    table = zones.in_zone(reports.trades_table(trades), zone)
    charts.add_trade_markers(figure, table)
    title = f"Trades on price (times in {zone})"
    if len(table) > READABLE_TRADES and len(times):
        start = charts.wall_clock(table["entry_ts"]).iloc[-READABLE_TRADES]
        inside = [i for i, t in enumerate(times) if t >= start]
        if inside:
            low = min(candles["low"][i] for i in inside)
            high = max(candles["high"][i] for i in inside)
            pad = max(0.25, (high - low) * 0.05)
            figure.update_xaxes(range=[start, times[-1]])
            figure.update_yaxes(range=[low - pad, high + pad])
            title = (f"Trades on price: the last {READABLE_TRADES} of {len(table):,} "
                     f"(zoom out for all; times in {zone})")
    figure.update_layout(height=480, xaxis_rangeslider_visible=False,
                         margin={"l": 10, "r": 10, "t": 70, "b": 10},
                         title=title, legend=LEGEND_UNDER_TITLE)
    return figure


WEEKDAY_KEY = re.compile(r"^\d (\w{3})$")  # "0 Mon": the digit only sorts the days


def group_label(key: Any) -> str:
    """A breakdown group as a person reads it: ``Mon`` (not ``0 Mon``), ``profit target``."""
    text = str(key)
    if (weekday := WEEKDAY_KEY.match(text)) is not None:
        return weekday.group(1)
    return text.replace("_", " ")


def breakdown_frame(rows: list[dict[str, Any]], group: str = "group") -> pd.DataFrame:
    """A breakdown (from the run's JSON) as text for a trader: money ``-$1,250.00``, win rate
    ``47.7%`` (one decimal, as on every page), profit factor ``1.35``, ``∞`` with no losing trade
    and ``n/a`` with no trade to divide by (never "None")."""
    columns = [group.replace("_", " ").capitalize(), "Trades", "Net P&L", "Avg trade",
               "Win rate", "Profit factor"]
    return pd.DataFrame([[
        group_label(row.get("key")), f"{row.get('trades', 0):,}",
        fmt.usd(row.get("net_pnl_cents")), fmt.usd(row.get("average_trade_cents")),
        fmt.percent(row.get("win_rate")).replace(fmt.DASH, "n/a"),
        fmt.ratio(_profit_factor(row)).replace(fmt.DASH, "n/a"),
    ] for row in rows], columns=columns)


def _profit_factor(row: dict[str, Any]) -> float | None:
    """The stored profit factor; JSON keeps no infinity, so a group of only winners (stored
    as null) is infinite again."""
    value = row.get("profit_factor")
    trades = row.get("trades") or 0
    if value is None and trades > 0 and row.get("wins") == trades:
        return float("inf")
    return value


# --- The LLM in backtests: sources, modes to compare, and the side-by-side table -----------

LLM_SOURCES = {"off": "off", "replay the bot's journal ($0)": "replay",
               "replay the record cache ($0)": "replay-cache",
               "record (paid, governed calls)": "record"}
LLM_MODES = ("disabled", "advisory", "bias", "consensus")
LLM_MODE_CHOICES = {"as configured": (None,), **{mode: (mode,) for mode in LLM_MODES},
                    "compare all four": LLM_MODES}
LLM_COLUMNS = (
    ("llm_source", "LLM", "text"), ("llm_mode", "Mode", "text"), ("trades", "Trades", "int"),
    ("net_pnl_cents", "Net P&L", "usd"), ("max_drawdown_cents", "Max drawdown", "usd"),
    ("llm_calls", "New calls", "int"), ("llm_cost_usd", "New $", "cost"),
    ("llm_source_cost_usd", "Replayed replies cost (when bought)", "cost"),
    ("llm_replies_applied", "Replies used", "int"),
    ("llm_nudged_decisions", "Decisions moved", "int"),
    ("llm_vetoed_decisions", "Entries vetoed", "int"),
    ("llm_enabled_trades", "Trades it enabled", "int"),
    ("llm_enabled_pnl_usd", "Their P&L", "dollars"),
    ("llm_vetoed_shadows", "Skipped entries followed", "int"),
    ("llm_avoided_loss_usd", "Loss avoided", "dollars"),
    ("llm_missed_gain_usd", "Gain missed", "dollars"),
    ("llm_agreed_win_rate", "Win rate when it agreed", "pct"),
    ("llm_disagreed_win_rate", "Win rate when it disagreed", "pct"),
)


def has_llm(metrics: dict[str, Any]) -> bool:
    """Whether a run had the LLM take part (``--llm`` other than off)."""
    return "llm_source" in metrics


def llm_comparison_frame(runs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """LLM runs side by side, one row each: results, calls and dollars, attribution.

    Attribution as on the LLM page: trades the LLM enabled (net P&L), entries it skipped
    followed to their exits (gross P&L: loss avoided, gain missed), win rates by its view.
    """
    rows = []
    for label, metrics in runs.items():
        if not has_llm(metrics):
            continue
        row: dict[str, Any] = {"Run": label}
        for key, title, kind in LLM_COLUMNS:
            value = metrics.get(key)
            if kind == "text":
                row[title] = value or "as configured"
            elif kind in ("dollars", "cost"):
                digits = 4 if kind == "cost" else 2
                row[title] = "n/a" if value is None else f"${value:,.{digits}f}"
            else:
                row[title] = format_metric(value, kind)
        rows.append(row)
    return pd.DataFrame(rows, columns=["Run", *(title for _, title, _ in LLM_COLUMNS)])
