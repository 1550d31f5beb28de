"""Plotly figures and tables of a finished backtest run for the dashboard's Backtest page."""

from __future__ import annotations

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
    ("buy_and_hold_cents", "Buy & hold", "usd"), ("bars_per_second", "Bars / s", "int"),
)


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
        return f"{value:.1%}"
    if kind == "int":
        return f"{value:,.0f}"
    return f"{value:.2f}"


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
    """Price candles with each trade's entry (▲ long / ▼ short) and exit (×) marked."""
    figure = go.Figure(go.Candlestick(
        x=charts.wall_clock(pd.to_datetime(candles.get("ts", []), utc=True).tz_convert(zone)),
        open=candles.get("open", []), high=candles.get("high", []),
        low=candles.get("low", []), close=candles.get("close", []), name="Price",
    ))
    charts.add_trade_markers(figure, zones.in_zone(reports.trades_table(trades), zone))
    figure.update_layout(height=480, xaxis_rangeslider_visible=False,
                         margin={"l": 10, "r": 10, "t": 70, "b": 10},
                         title=f"Trades on price (times in {zone})", legend=LEGEND_UNDER_TITLE)
    return figure


def breakdown_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A breakdown (from the run's JSON) as a table in dollars."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["net_pnl_usd"] = frame.pop("net_pnl_cents") / 100
    frame["average_trade_usd"] = frame.pop("average_trade_cents") / 100
    return frame
