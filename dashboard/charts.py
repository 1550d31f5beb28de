"""Plotly figures for the dashboard, built from the report frames; pages only display them.

Price charts are downsampled on the server (OHLC resampling to at most ``max_points`` candles)
so a day of 5-second bars draws fast in the browser.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

RESAMPLE_STEPS = ("5s", "10s", "15s", "30s", "1min", "2min", "5min", "10min", "15min", "30min",
                  "1h", "2h", "4h", "1D")


def downsample_ohlc(bars: pd.DataFrame, max_points: int) -> tuple[pd.DataFrame, str]:
    """Resample OHLCV bars to the finest step that gives at most ``max_points`` candles."""
    if len(bars) <= max_points:
        return bars, "raw"
    for step in RESAMPLE_STEPS:
        resampled = bars.resample(step).agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        ).dropna(subset=["open"])
        if len(resampled) <= max_points:
            return resampled, step
    return resampled, RESAMPLE_STEPS[-1]


def price_chart(
    bars: pd.DataFrame, trades: pd.DataFrame, max_points: int, title: str = "",
    sentiment: pd.DataFrame | None = None,
) -> go.Figure:
    """Candles with EMA and Bollinger overlays and trade markers; sentiment in a panel below."""
    candles, step = downsample_ohlc(bars, max_points)
    close = candles["close"]
    figure = go.Figure()
    figure.add_trace(go.Candlestick(
        x=candles.index, open=candles["open"], high=candles["high"], low=candles["low"],
        close=close, name="Price",
    ))
    for span, color in ((9, "#1f77b4"), (21, "#ff7f0e")):
        figure.add_trace(go.Scatter(x=candles.index, y=close.ewm(span=span, adjust=False).mean(),
                                    name=f"EMA {span}", line={"width": 1, "color": color}))
    middle = close.rolling(20).mean()
    spread = 2 * close.rolling(20).std(ddof=0)
    bands = (("Bollinger upper", middle + spread), ("Bollinger lower", middle - spread))
    for name, values in bands:
        figure.add_trace(go.Scatter(x=candles.index, y=values, name=name,
                                    line={"width": 1, "dash": "dot", "color": "grey"}))
    if not trades.empty:
        shown = trades[trades["entry_ts"] >= candles.index.min()] if len(candles) else trades
        figure.add_trace(go.Scatter(
            x=shown["entry_ts"], y=shown["entry_price"], mode="markers", name="Entry",
            marker={"symbol": "triangle-up", "size": 11, "color": "green"},
            text=shown["side"], hovertemplate="entry %{text} @ %{y}<extra></extra>",
        ))
        figure.add_trace(go.Scatter(
            x=shown["exit_ts"], y=shown["exit_price"], mode="markers", name="Exit",
            marker={"symbol": "triangle-down", "size": 11, "color": "red"},
            text=shown["exit_reason"], hovertemplate="exit (%{text}) @ %{y}<extra></extra>",
        ))
    label = f" ({step} candles)" if step != "raw" else ""
    figure.update_layout(
        title=f"{title}{label}", height=480, xaxis_rangeslider_visible=False,
        margin={"l": 10, "r": 10, "t": 40, "b": 10}, legend={"orientation": "h"},
    )
    if sentiment is not None and not sentiment.empty:
        add_sentiment_panel(figure, sentiment["sentiment"], step)
    return figure


def add_sentiment_panel(figure: go.Figure, sentiment: pd.Series, step: str) -> None:
    """The rolling sentiment in [-1, 1] on a second y axis below the candles (same time axis)."""
    series = sentiment.astype(float)
    if step != "raw" and len(series) > 1:
        series = series.resample(step).last().dropna()
    figure.add_trace(go.Scatter(
        x=series.index, y=series.tolist(), name="Sentiment", yaxis="y2", mode="lines",
        line={"width": 1, "color": "purple"}, fill="tozeroy",
        hovertemplate="sentiment %{y:+.2f}<extra></extra>",
    ))
    # Two stacked y axes on one x axis (make_subplots costs ~0.1 s per figure).
    figure.update_layout(
        height=600, yaxis={"domain": [0.3, 1.0]},
        yaxis2={"domain": [0.0, 0.22], "range": [-1.05, 1.05], "title": "sentiment",
                "zeroline": True},
    )


def equity_chart(trades: pd.DataFrame, starting_equity_usd: float) -> go.Figure:
    """Equity after each closed trade (from the first entry) and its drawdown from the peak."""
    times = pd.concat([trades["entry_ts"].iloc[:1], trades["exit_ts"]], ignore_index=True)
    equity = starting_equity_usd + pd.concat(
        [pd.Series([0.0]), trades["pnl_net_usd"].cumsum()], ignore_index=True)
    drawdown = equity - equity.cummax()
    # Two stacked y axes on one x axis (make_subplots costs ~0.1 s per figure).
    figure = go.Figure([
        go.Scatter(x=times, y=equity, name="Equity", mode="lines"),
        go.Scatter(x=times, y=drawdown, name="Drawdown", fill="tozeroy", yaxis="y2",
                   line={"color": "crimson"}),
    ])
    figure.update_layout(
        height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend={"orientation": "h"},
        yaxis={"domain": [0.35, 1.0], "title": "equity ($)"},
        yaxis2={"domain": [0.0, 0.28], "title": "drawdown ($)"},
    )
    return figure


def pnl_bar_chart(pnl_by_group: pd.Series, title: str) -> go.Figure:
    """Net P&L per group (hour of day, regime bucket, ...) as bars, green up and red down."""
    colors = ["green" if value >= 0 else "crimson" for value in pnl_by_group.to_numpy()]
    figure = go.Figure(go.Bar(x=[str(k) for k in pnl_by_group.index], y=pnl_by_group.to_numpy(),
                              marker_color=colors))
    figure.update_layout(title=title, height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         yaxis_title="net P&L ($)", xaxis_type="category")
    return figure
