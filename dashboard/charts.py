"""Plotly figures for the dashboard, built from the report frames; pages only display them.

Price charts are downsampled on the server (OHLC resampling to at most ``max_points`` candles)
so a day of 5-second bars draws fast in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from dashboard import fmt, session_lines
from dashboard import indicators as indicator_data
from dashboard.trader_view import PositionView


def wall_clock(values):
    """Times as naive wall-clock values of their own zone: plotly shows tz-aware times by
    their wall clock anyway, and serialises naive ones several times faster."""
    if isinstance(values, pd.Series):
        return values.dt.tz_localize(None) if values.dt.tz is not None else values
    return values.tz_localize(None) if getattr(values, "tz", None) is not None else values


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
    sentiment: pd.DataFrame | None = None, zone: str | None = None,
    position: PositionView | None = None, levels: Mapping[str, float] | None = None,
    indicators: pd.DataFrame | None = None,
) -> go.Figure:
    """Candles with EMA and Bollinger overlays and trade entry/exit markers (downsampled in UTC,
    shown in ``zone``); the open position's entry, stop and target when given; the session
    levels (label -> price, ``dashboard.session_lines``) when given; RSI and MACD panels (the
    regime's not-tradable stretches shaded) and the rolling sentiment in panels below when
    given."""
    candles, step = downsample_ohlc(bars, max_points)
    first_candle = candles.index.min() if len(candles) else None
    if zone is not None and len(candles):
        candles = candles.copy()
        candles.index = wall_clock(candles.index.tz_convert(zone))
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
    bands = (("Bollinger bands", middle + spread), ("Bollinger lower", middle - spread))
    for name, values in bands:  # one legend entry for both bands (a shorter legend)
        figure.add_trace(go.Scatter(x=candles.index, y=values, name=name,
                                    legendgroup="bollinger", showlegend=name.endswith("bands"),
                                    line={"width": 1, "dash": "dot", "color": "grey"}))
    if not trades.empty:
        shown = trades if first_candle is None else trades[trades["entry_ts"] >= first_candle]
        add_trade_markers(figure, shown)
    if levels and len(candles):
        add_session_levels(figure, levels, candles.index.min(), candles.index.max())
    if position is not None and len(candles):
        add_open_position(figure, position, first_candle, candles.index.max(), zone)
    label = f" ({step} candles)" if step != "raw" else ""
    # The legend under the plot: above it, it wraps into rows at narrow widths and covers
    # the title (1,024 px).
    figure.update_layout(
        title=f"{title}{label}", height=520, xaxis_rangeslider_visible=False,
        margin={"l": 10, "r": 110 if position is not None or levels else 10, "t": 40,
                "b": 10},
        legend={"orientation": "h", "yanchor": "top", "y": -0.17, "xanchor": "left", "x": 0},
    )
    panels: list[tuple[str, dict]] = []
    if indicators is not None:
        frame = indicator_data.indicator_frame(indicators, step)
        if indicator_data.has_values(frame):
            frame = _shown_in(frame, zone)
            add_indicator_panels(figure, frame)
            panels += [("yaxis3", {"range": [0, 100], "title": "RSI",
                                   "tickvals": [30, 50, 70]}),
                       ("yaxis4", {"title": "MACD", "zeroline": True})]
    if sentiment is not None and not sentiment.empty:
        add_sentiment_panel(figure, sentiment["sentiment"], step, zone)
        panels.append(("yaxis2", {"range": [-1.05, 1.05], "title": "sentiment",
                                  "zeroline": True}))
    stack_panels(figure, panels)
    return figure


PANEL_PX = 130  # height of one panel under the candles
PRICE_PX = 400
LEGEND_PX = 150  # under the time axis: the legend's rows at 1,024 px, not taken from the plot


def stack_panels(figure: go.Figure, panels: list[tuple[str, dict]]) -> None:
    """Stack ``panels`` (y axis name, its settings) under the candles, top to bottom, on the
    one time axis (make_subplots costs ~0.1 s per figure); the time axis under the lowest and
    the legend in a bottom margin of its own, so a legend wrapping into rows at 1,024 px does
    not squeeze the panels."""
    if not panels:
        return
    plot_px = PRICE_PX + PANEL_PX * len(panels)
    height = plot_px + 40 + LEGEND_PX
    gap = 24 / plot_px
    share = PANEL_PX / plot_px
    bottom = 0.0
    layout: dict = {}
    for name, settings in reversed(panels):
        layout[name] = {**settings, "domain": [bottom, bottom + share - gap],
                        "title": {"text": settings["title"], "font": {"size": 11}}}
        bottom += share
    layout["yaxis"] = {"domain": [bottom, 1.0]}
    lowest = panels[-1][0].replace("axis", "")
    figure.update_layout(height=height, xaxis={"anchor": lowest}, margin={"b": LEGEND_PX},
                         legend={"y": -48 / plot_px}, **layout)


def _shown_in(frame: pd.DataFrame, zone: str | None) -> pd.DataFrame:
    if zone is not None and len(frame) and frame.index.tz is not None:
        frame = frame.copy()
        frame.index = wall_clock(frame.index.tz_convert(zone))
    return frame


NOT_TRADABLE = "Not tradable (regime)"


def add_indicator_panels(figure: go.Figure, frame: pd.DataFrame) -> None:
    """RSI (y3, 30/70 guides) and MACD (y4: histogram, line, signal) below the candles, and
    the regime's not-tradable stretches shaded grey across every panel."""
    times = frame.index
    # RSI and the histogram are named by their panel's axis title, not in the legend
    figure.add_trace(go.Scatter(x=times, y=frame["rsi"].tolist(), name="RSI", yaxis="y3",
                                mode="lines", line={"width": 1, "color": "#6a3d9a"},
                                showlegend=False,
                                hovertemplate="RSI %{y:.1f}<extra></extra>"))
    for level in (30, 70):
        figure.add_shape(type="line", xref="x domain", x0=0, x1=1, yref="y3", y0=level,
                         y1=level, line={"width": 1, "dash": "dot", "color": "#999999"})
    hist = frame["macd_hist"]
    figure.add_trace(go.Bar(
        x=times, y=hist.tolist(), name="MACD histogram", yaxis="y4", showlegend=False,
        marker_color=["#1a9641" if v >= 0 else "#d7191c" for v in hist.fillna(0)],
        hovertemplate="histogram %{y:.2f}<extra></extra>"))
    for column, name, color in (("macd", "MACD", "#1f77b4"),
                                ("macd_signal", "MACD signal", "#ff7f0e")):
        figure.add_trace(go.Scatter(x=times, y=frame[column].tolist(), name=name, yaxis="y4",
                                    mode="lines", line={"width": 1, "color": color},
                                    hovertemplate=f"{name} %{{y:.2f}}<extra></extra>"))
    spans = indicator_data.non_tradable_spans(frame)
    for start, end in spans:
        figure.add_shape(type="rect", xref="x", x0=start, x1=end, yref="paper", y0=0, y1=1,
                         fillcolor="#7f7f7f", opacity=0.15, line_width=0, layer="below")
    if spans:  # the shading's legend entry
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=NOT_TRADABLE,
                                    marker={"symbol": "square", "size": 12, "color": "#bfbfbf"},
                                    yaxis="y3", hoverinfo="skip"))


def add_sentiment_panel(
    figure: go.Figure, sentiment: pd.Series, step: str, zone: str | None = None
) -> None:
    """The rolling sentiment in [-1, 1] on a second y axis below the candles (same time axis);
    ``stack_panels`` places it."""
    series = sentiment.astype(float)
    if step != "raw" and len(series) > 1:
        series = series.resample(step).last().dropna()
    if zone is not None and len(series) and series.index.tz is not None:
        series.index = wall_clock(series.index.tz_convert(zone))
    figure.add_trace(go.Scatter(
        x=series.index, y=series.tolist(), name="Sentiment", yaxis="y2", mode="lines",
        line={"width": 1, "color": "purple"}, fill="tozeroy",
        hovertemplate="sentiment %{y:+.2f}<extra></extra>",
    ))


ENTRY_MARKERS = {
    "long": ("triangle-up", "#1a9641", "Long entry ▲"),
    "short": ("triangle-down", "#d7191c", "Short entry ▼"),
}
EXIT_MARKER = ("x", "#333333", "Exit ×")


def add_trade_markers(figure: go.Figure, trades: pd.DataFrame) -> None:
    """Entries as ▲ (long, green) / ▼ (short, red) and exits as ×, with price and P&L on hover."""
    for side, (symbol, color, name) in ENTRY_MARKERS.items():
        chosen = trades[trades["side"] == side]
        figure.add_trace(go.Scatter(
            x=wall_clock(chosen["entry_ts"]), y=chosen["entry_price"], mode="markers", name=name,
            marker={"symbol": symbol, "size": 12, "color": color,
                    "line": {"width": 1, "color": "white"}},
            hovertemplate=f"{side} entry @ %{{y:.2f}}<extra></extra>",
        ))
    symbol, color, name = EXIT_MARKER
    figure.add_trace(go.Scatter(
        x=wall_clock(trades["exit_ts"]), y=trades["exit_price"], mode="markers", name=name,
        marker={"symbol": symbol, "size": 9, "color": color},
        customdata=trades[["exit_reason", "pnl_net_usd"]].to_numpy(),
        hovertemplate="exit (%{customdata[0]}) @ %{y:.2f}, net $%{customdata[1]:,.2f}"
                      "<extra></extra>",
    ))


POSITION_LINES = (("Stop", "#d7191c", "dash"), ("Target", "#1a9641", "dash"))


def add_open_position(
    figure: go.Figure, position: PositionView, first_candle: pd.Timestamp,
    last_candle: pd.Timestamp, zone: str | None,
) -> None:
    """The open position: its entry as a large outlined ▲/▼ (when inside the window) and
    horizontal lines across the window at the entry, the working stop and the target, each
    named with its price at the right edge."""
    entry_ts = pd.Timestamp(position.entry_ts) if position.entry_ts is not None else None
    inside = entry_ts is not None and first_candle is not None and entry_ts >= first_candle

    def shown(ts: pd.Timestamp | None) -> pd.Timestamp:
        if ts is None:
            return last_candle
        return wall_clock(ts.tz_convert(zone) if zone is not None and ts.tzinfo else ts)

    start, window_start = shown(entry_ts), shown(first_candle)
    side = position.side
    symbol, color, _ = ENTRY_MARKERS[side]
    arrow = "▲" if side == "long" else "▼"
    label = f"Open {side} {position.contracts} {arrow} @ {fmt.points(position.entry_price)}"
    if inside:
        figure.add_trace(go.Scatter(
            x=[start], y=[position.entry_price], mode="markers", name=label,
            marker={"symbol": symbol, "size": 18, "color": color,
                    "line": {"width": 3, "color": "#ffb000"}},
            hovertemplate=f"open {side} entry @ %{{y:.2f}}<extra></extra>",
        ))
    levels = [("Entry", position.entry_price, color, "dot")]
    for (name, line_color, dash), level in zip(POSITION_LINES,
                                               (position.stop, position.target), strict=True):
        if level is not None:
            levels.append((name, level.price, line_color, dash))
    for name, price, line_color, dash in levels:
        figure.add_trace(go.Scatter(
            x=[window_start, last_candle], y=[price, price], mode="lines+text",
            name=label if name == "Entry" and not inside else f"{name} {fmt.points(price)}",
            line={"color": line_color, "width": 2 if name != "Entry" else 1, "dash": dash},
            text=["", f" {name} {fmt.points(price)}"], textposition="middle right",
            cliponaxis=False, textfont={"color": line_color},
            hovertemplate=f"{name} %{{y:.2f}}<extra></extra>",
        ))


def add_session_levels(figure: go.Figure, levels: Mapping[str, float], start: pd.Timestamp,
                       end: pd.Timestamp) -> None:
    """Each session level as a thin dashed line across the window, named at its right end."""
    for label, price in levels.items():
        colour = session_lines.colour_of(label)
        figure.add_trace(go.Scatter(
            x=[start, end], y=[price, price], mode="lines+text", name=f"{label} {price:,.2f}",
            line={"color": colour, "width": 1, "dash": "dash"},
            text=["", f" {label}"], textposition="middle right", cliponaxis=False,
            textfont={"color": colour, "size": 10},
            hovertemplate=f"{label} %{{y:.2f}}<extra></extra>",
        ))


def equity_chart(trades: pd.DataFrame, starting_equity_usd: float) -> go.Figure:
    """Equity after each closed trade (from the first entry) and its drawdown from the peak."""
    times = wall_clock(pd.concat([trades["entry_ts"].iloc[:1], trades["exit_ts"]],
                                 ignore_index=True))
    equity = starting_equity_usd + pd.concat(
        [pd.Series([0.0]), trades["pnl_net_usd"].cumsum()], ignore_index=True)
    drawdown = equity - equity.cummax()
    # Two stacked y axes on one x axis (make_subplots costs ~0.1 s per figure).
    figure = go.Figure([
        # Steps: equity changes only when a trade closes, so no diagonal between closes.
        go.Scatter(x=times, y=equity, name="Equity", mode="lines", line_shape="hv"),
        go.Scatter(x=times, y=drawdown, name="Drawdown", fill="tozeroy", yaxis="y2",
                   line_shape="hv", line={"color": "crimson"}),
    ])
    figure.update_layout(
        height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08},
        # The time axis sits under the drawdown panel (anchored to y2), not between the two.
        xaxis={"anchor": "y2"},
        yaxis={"domain": [0.36, 1.0], "title": "equity ($)", "tickformat": "$,.0f"},
        yaxis2={"domain": [0.0, 0.28], "title": "drawdown ($)", "tickformat": "$,.0f"},
    )
    return figure


def pnl_bar_chart(pnl_by_group: pd.Series, title: str) -> go.Figure:
    """Net P&L per group (hour of day, regime bucket, ...) as bars, green up and red down,
    in the series' own order (hours in Globex session order)."""
    colors = ["green" if value >= 0 else "crimson" for value in pnl_by_group.to_numpy()]
    labels = [str(k) for k in pnl_by_group.index]
    figure = go.Figure(go.Bar(x=labels, y=pnl_by_group.to_numpy(), marker_color=colors,
                              hovertemplate="%{x}: $%{y:,.2f}<extra></extra>"))
    figure.update_layout(title=title, height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                         yaxis_title="net P&L ($)", yaxis_tickformat="$,.0f",
                         xaxis_title="session order" if len(labels) == 24 else None,
                         xaxis={"type": "category", "categoryorder": "array",
                                "categoryarray": labels})
    return figure
