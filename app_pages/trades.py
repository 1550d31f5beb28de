"""Trades & performance: filtered trade log, metrics, P&L calendar, P&L by hour and regime,
CSV/JSON export."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from dashboard import backtest_charts, charts, fmt, frame, pnl_calendar, reports, tables, zones
from shared.domain import metrics
from shared.domain.instruments import usd_to_cents
from shared.persistence import journal_store, report_queries

st.title("Trades & performance")
settings, _ = frame.current_settings()
with frame.reader() as conn:
    if conn is None:
        frame.no_database_notice()
        st.stop()
    sides, reasons = report_queries.trade_filter_options(conn)
    bounds = report_queries.trade_date_bounds(conn)
if bounds is None:
    st.info("No closed trades yet.")
    st.stop()

zone = frame.display_zone()
first_day = bounds[0].astimezone(ZoneInfo(zone)).date()
last_day = bounds[1].astimezone(ZoneInfo(zone)).date()
filters = st.columns([4, 3, 3])
date_range = filters[0].date_input(
    f"Exit date ({zones.short_name(zone, bounds[1])})",
    (max(first_day, last_day - timedelta(days=30)), last_day),
)
chosen_sides = filters[1].multiselect("Side", sides, default=sides)
chosen_reasons = filters[2].multiselect("Exit reason", reasons, default=reasons)
if not isinstance(date_range, tuple) or len(date_range) != 2:
    st.info("Pick a start and an end date.")
    st.stop()
start = datetime.combine(date_range[0], time(0), tzinfo=ZoneInfo(zone))
end = datetime.combine(date_range[1], time(0), tzinfo=start.tzinfo) + timedelta(days=1)

with frame.reader() as conn:
    trades = journal_store.filtered_trades(conn, start, end, chosen_sides, chosen_reasons)
if not trades:
    st.info("No closed trades match these filters.")
    st.stop()

starting_cents = usd_to_cents(settings.broker.paper_starting_equity_usd)
summary = metrics.summarize(trades, starting_cents)
cards = [
    ("Net P&L", reports.usd(summary["net_pnl_cents"])),
    ("Trades", f"{summary['trades']}"),
    ("Win rate", reports.ratio(summary["win_rate"], "{:.1%}")),
    ("Profit factor", reports.ratio(summary["profit_factor"])),
    ("Expectancy", reports.usd(summary["expectancy_cents"])),
    ("Average win", reports.usd(summary["average_win_cents"])),
    ("Average loss", reports.usd(summary["average_loss_cents"])),
    ("Sharpe (daily)", reports.ratio(summary["sharpe"])),
    ("Sortino (daily)", reports.ratio(summary["sortino"])),
    ("Max drawdown", reports.usd(summary["max_drawdown_cents"])),
    ("Drawdown duration", fmt.duration(summary["max_drawdown_duration_s"])),
]
CARDS_PER_ROW = 4
for row_start in range(0, len(cards), CARDS_PER_ROW):
    for column, (label, value) in zip(st.columns(CARDS_PER_ROW),
                                      cards[row_start:row_start + CARDS_PER_ROW], strict=False):
        column.metric(label, value)

table = zones.in_zone(reports.trades_table(trades), zone)
st.caption(f"Times in {zones.zone_label(zone)}")
st.plotly_chart(charts.equity_chart(table, settings.broker.paper_starting_equity_usd),
                key="equity")
st.subheader("P&L calendar")
daily = pnl_calendar.daily_frame(trades, zone)
st.caption("Days are CME trading days (17:00 CT to 16:00 CT, named by the day they end), by "
           f"exit time; exit times in {zones.zone_label(zone)}")
st.plotly_chart(pnl_calendar.heatmap(daily), key="pnl_calendar")
by_week, by_month, by_day = st.tabs(["Weekly", "Monthly", "Daily"])
by_week.dataframe(pnl_calendar.weekly_table(daily), hide_index=True, key="calendar_weeks")
by_month.dataframe(pnl_calendar.monthly_table(daily), hide_index=True, key="calendar_months")
by_day.dataframe(pnl_calendar.day_table(daily, zone), hide_index=True, key="calendar_days")
groups = metrics.breakdowns(trades)
left, right = st.columns(2)
left.plotly_chart(charts.pnl_bar_chart(
    reports.pnl_by_hour(table, zone),
    f"P&L by entry hour ({zones.short_name(zone, bounds[1])})"), key="hour")
bucket_pnl = pd.Series({g.key: g.net_pnl_cents / 100 for g in groups["time_bucket"]})
right.plotly_chart(charts.pnl_bar_chart(bucket_pnl, "Net P&L by time-of-day bucket"),
                   key="time_bucket")
for name in ("trend", "volatility", "exit_reason"):
    st.caption(f"By {name.replace('_', ' ')}")
    st.dataframe(backtest_charts.breakdown_frame([asdict(g) for g in groups[name]], name),
                 hide_index=True)

st.subheader("Trade log")
st.dataframe(table, hide_index=True, column_config=tables.TRADES,
             column_order=tables.TRADE_ORDER)
downloads = st.columns(2)
# Built only when clicked (a callable). on_click="ignore": a click must not rerun the page,
# or the rerun replaces the button's file id while the browser is still fetching the old one
# (with the sidebar's 5-s fragment running, that race lost the download: "Deferred file ...
# not found").
downloads[0].download_button("Download CSV", lambda: table.to_csv(index=False), "trades.csv",
                             "text/csv", on_click="ignore", key="download_csv")
downloads[1].download_button(
    "Download JSON", lambda: table.to_json(orient="records", date_format="iso", indent=1),
    "trades.json", "application/json", on_click="ignore", key="download_json",
)
