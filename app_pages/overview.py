"""Overview: position, P&L, bias, price chart with trades and sentiment, equity, decisions."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import charts, frame, reports
from shared.persistence import ops_store, report_queries

st.title("Overview")
settings, config_problem = frame.current_settings()
window_hours = st.segmented_control("Chart window", [1, 6, 24], default=6,
                                    format_func=lambda h: f"{h} h") or 6


@st.fragment(run_every=settings.dashboard.refresh_seconds)
def live_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            frame.no_database_notice()
            return
        state = ops_store.read_bot_state(conn)
        symbol = state["symbol"] if state else settings.instrument.symbol
        last_ts = report_queries.last_bar_time(conn, symbol)
        since = (last_ts or frame.utc_now()) - timedelta(hours=window_hours)
        bars = report_queries.bars_frame(conn, symbol, since)
        sentiment = report_queries.sentiment_frame(conn, symbol, since)
        trades = reports.trades_frame(conn)
        decisions = report_queries.decisions_frame(conn, limit=25)
    state = state or {}
    columns = st.columns(5)
    if state.get("position_side"):
        columns[0].metric("Position", f"{state['position_side']} {state['position_contracts']}")
        columns[0].caption(f"entry {state['position_entry_price']:g}")
    else:
        columns[0].metric("Position", "flat")
    for column, label, key in ((columns[1], "Realized today", "realized_today_cents"),
                               (columns[2], "Unrealized", "unrealized_cents"),
                               (columns[3], "Equity", "equity_cents")):
        column.metric(label, f"${state.get(key, 0) / 100:,.2f}")
    columns[4].metric("Bias", state.get("bias", "neutral"))
    if bars.empty:
        st.info("No bars journaled in this window yet.")
    else:
        st.plotly_chart(charts.price_chart(bars, trades, settings.dashboard.chart_max_points,
                                           f"{symbol} last {window_hours} h", sentiment),
                        key="price")
    if not trades.empty:
        st.subheader("Equity")
        st.plotly_chart(charts.equity_chart(trades, settings.broker.paper_starting_equity_usd),
                        key="equity")
    st.subheader("Latest decisions")
    st.dataframe(decisions, hide_index=True)
    st.subheader("Recent trades")
    st.dataframe(trades.tail(20).iloc[::-1], hide_index=True)


if config_problem:
    st.warning(f"The config file is invalid, showing defaults: {config_problem}")
live_panel()
