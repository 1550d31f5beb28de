"""Overview for a trader: position with its stop and target, risk budget, session, P&L, the
price chart with ▲ long / ▼ short entries and × exits (and the news sentiment below it when news
is on), equity, decisions and a trade drill-down.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import (
    bot_down,
    charts,
    fmt,
    frame,
    overview_panels,
    plain,
    reports,
    session_lines,
    tables,
    trade_controls,
    trader_view,
    zones,
)
from dashboard.status import bot_status
from shared.persistence import journal_store, ops_store, report_queries, trade_story_store
from shared.supervisor import process_info

st.title("Overview")
settings, config_problem = frame.current_settings()
zone = frame.display_zone()
window_hours = st.segmented_control("Chart window", [1, 6, 24], default=6,
                                    format_func=lambda h: f"{h} h") or 6
if config_problem:
    st.warning(f"The config file is invalid, showing defaults: {plain.escape(config_problem)}")


@st.fragment(run_every=settings.dashboard.refresh_seconds)
def live_panel() -> None:
    with frame.reader() as conn:
        if conn is None:
            frame.no_database_notice()
            return
        state = ops_store.read_bot_state(conn)
        symbol = state.symbol if state else settings.instrument.symbol
        last_ts = report_queries.last_bar_time(conn, symbol)
        since = (last_ts or frame.utc_now()) - timedelta(hours=window_hours)
        bars = report_queries.bars_frame(conn, symbol, since)
        sentiment = report_queries.sentiment_frame(conn, symbol, since)
        indicators = report_queries.indicators_frame(conn, symbol, since)
        trades = reports.trades_frame(conn)
        decisions = report_queries.decisions_frame(conn, limit=25)
        ticket = trade_controls.read_ticket(conn, symbol)
        levels = session_lines.latest_levels(journal_store.recent_decisions(conn, 1))
    status = bot_status(process_info("bot"), state, frame.utc_now(),
                        settings.engine.heartbeat_seconds)
    down = state is not None and not status.running
    as_of = zones.fmt_time(state.heartbeat_at, zone) if state else ""
    if down:
        st.warning(bot_down.stopped_line(state, status.liveness.value, as_of))
    cards = st.columns(4)
    cards[0].metric("Open P&L" if not down else "Open P&L (last heartbeat)",
                    fmt.usd(state.unrealized_cents if state else None),
                    help=f"as of {as_of}, not live: the bot is not running" if down else None)
    cards[1].metric("Realized today", fmt.usd(state.realized_today_cents if state else None))
    cards[2].metric("Equity", fmt.usd(state.equity_cents if state else None))
    cards[3].metric("LLM bias", state.bias if state else "–")
    left, middle, right = st.columns([5, 5, 4])
    with left:
        overview_panels.position_panel(
            state, zone, running=not down,
            controls=lambda: trade_controls.render(ticket, state, not down, zone))
    with middle:
        overview_panels.risk_panel(state, running=not down)
    with right:
        overview_panels.session_panel(state, zone)
    shown_trades = zones.in_zone(trades, zone)
    if bars.empty:
        st.info("No bars journaled in this window yet.")
    else:
        st.plotly_chart(charts.price_chart(
            bars, shown_trades, settings.dashboard.chart_max_points,
            f"{symbol} last {window_hours} h ({zones.zone_label(zone)})", sentiment, zone,
            trader_view.position_view(state), levels, indicators), key="price")
    if not trades.empty:
        st.subheader("Equity")
        st.plotly_chart(charts.equity_chart(shown_trades,
                                            settings.broker.paper_starting_equity_usd),
                        key="equity")
    st.subheader("Latest decisions")
    st.caption(f"Times in {zones.zone_label(zone)}")
    st.dataframe(tables.readable(zones.in_zone(decisions, zone)), hide_index=True,
                 column_config=tables.DECISIONS, column_order=tables.DECISION_ORDER)
    st.subheader("Recent trades")
    st.dataframe(tables.readable(shown_trades.tail(20).iloc[::-1]), hide_index=True,
                 column_config=tables.TRADES, column_order=tables.TRADE_ORDER)


live_panel()

st.subheader("Trade drill-down")
with frame.reader() as conn:
    recent = (reports.trades_table(journal_store.latest_trades(conn, 200))
              if conn is not None else None)
if recent is None or recent.empty:
    st.info("No closed trades yet.")
else:
    labels = {row["bracket_id"]: overview_panels.trade_label(row, zone)
              for _, row in recent.iterrows()}
    chosen = st.selectbox("Trade", list(labels), format_func=labels.get, key="drill_trade")
    with frame.reader() as conn:
        story = trade_story_store.trade_story(conn, chosen)
    overview_panels.drilldown(story, zone)
