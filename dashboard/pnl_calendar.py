"""The P&L calendar: closed trades' net P&L per CME trading day, with week and month totals.

A CME Globex trading day runs 17:00 CT to 16:00 CT the next day and is named by the day it
ends on: a trade closed Sunday 18:30 CT (or Monday 09:00 CT) counts for Monday. Trades are
bucketed by their exit time (when the P&L is realised). Money is in cents until it becomes text
through ``dashboard.fmt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go

from dashboard import fmt, zones
from shared.domain.models import TradeRecord

EXCHANGE = ZoneInfo(zones.EXCHANGE_ZONE)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
SATURDAY = 5


def trading_day(exit_ts: datetime) -> date:
    """The CME trading day ``exit_ts`` (tz-aware) belongs to: from 17:00 CT on, the next day;
    a weekend date (no session) rolls to the Monday whose session it opens."""
    local = exit_ts.astimezone(EXCHANGE)
    day = local.date() + timedelta(days=1 if local.time() >= zones.SESSION_OPEN_CT else 0)
    if day.weekday() >= SATURDAY:
        day += timedelta(days=7 - day.weekday())
    return day


def daily_frame(trades: Sequence[TradeRecord], zone: str) -> pd.DataFrame:
    """One row per trading day with trades: net P&L (cents), trade count, wins, and the first
    and last exit in ``zone``; oldest first."""
    columns = ["day", "net_cents", "trades", "wins", "first_exit", "last_exit"]
    if not trades:
        return pd.DataFrame(columns=columns)
    rows = pd.DataFrame({
        "day": [trading_day(t.exit_ts) for t in trades],
        "net_cents": [t.pnl_net_cents for t in trades],
        "win": [t.pnl_net_cents > 0 for t in trades],
        "exit": pd.to_datetime([t.exit_ts for t in trades], utc=True).tz_convert(zone),
    })
    grouped = rows.groupby("day", sort=True).agg(
        net_cents=("net_cents", "sum"), trades=("net_cents", "size"), wins=("win", "sum"),
        first_exit=("exit", "min"), last_exit=("exit", "max"))
    return grouped.reset_index()[columns]


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def weekly_totals(daily: pd.DataFrame) -> pd.DataFrame:
    """Net P&L (cents) and trades per week (Monday to Friday trading days), oldest first."""
    if daily.empty:
        return pd.DataFrame(columns=["week", "net_cents", "trades", "days"])
    weeks = daily.assign(week=[week_start(d) for d in daily["day"]])
    totals = weeks.groupby("week", sort=True).agg(
        net_cents=("net_cents", "sum"), trades=("trades", "sum"), days=("day", "size"))
    return totals.reset_index()


def monthly_totals(daily: pd.DataFrame) -> pd.DataFrame:
    """Net P&L (cents), trades and winning / losing days per calendar month of trading days."""
    if daily.empty:
        return pd.DataFrame(columns=["month", "net_cents", "trades", "green_days", "red_days"])
    months = daily.assign(month=[d.replace(day=1) for d in daily["day"]],
                          green=daily["net_cents"] > 0, red=daily["net_cents"] < 0)
    totals = months.groupby("month", sort=True).agg(
        net_cents=("net_cents", "sum"), trades=("trades", "sum"), green_days=("green", "sum"),
        red_days=("red", "sum"))
    return totals.reset_index()


def weekly_table(daily: pd.DataFrame) -> pd.DataFrame:
    """Weeks as rows (newest first), the five weekdays and the week's total as money text."""
    totals = weekly_totals(daily)
    by_day = {row.day: row for row in daily.itertuples()}
    rows = []
    for week in totals.itertuples():
        row = {"week of": week.week.strftime("%Y-%m-%d")}
        for offset, name in enumerate(WEEKDAYS):
            cell = by_day.get(week.week + timedelta(days=offset))
            row[name] = "" if cell is None else fmt.signed_usd(cell.net_cents)
        row["week"] = fmt.signed_usd(week.net_cents)
        row["trades"] = int(week.trades)
        rows.append(row)
    return pd.DataFrame(rows[::-1], columns=["week of", *WEEKDAYS, "week", "trades"])


def monthly_table(daily: pd.DataFrame) -> pd.DataFrame:
    """Months as rows (newest first): net P&L as money text, trades, green and red days."""
    totals = monthly_totals(daily)
    rows = [{"month": m.month.strftime("%Y-%m"), "net P&L": fmt.signed_usd(m.net_cents),
             "trades": int(m.trades), "green days": int(m.green_days),
             "red days": int(m.red_days)} for m in totals.itertuples()]
    return pd.DataFrame(rows[::-1], columns=["month", "net P&L", "trades", "green days",
                                             "red days"])


def day_table(daily: pd.DataFrame, zone: str) -> pd.DataFrame:
    """Trading days (newest first) with net P&L as money text and exit times in ``zone``."""
    rows = [{"trading day": d.day.strftime("%a %Y-%m-%d"),
             "net P&L": fmt.signed_usd(d.net_cents), "trades": int(d.trades),
             "wins": int(d.wins), "first exit": zones.fmt_time(d.first_exit, zone),
             "last exit": zones.fmt_time(d.last_exit, zone)} for d in daily.itertuples()]
    return pd.DataFrame(rows[::-1], columns=["trading day", "net P&L", "trades", "wins",
                                             "first exit", "last exit"])


def heatmap(daily: pd.DataFrame, weeks_shown: int = 8) -> go.Figure:
    """The last ``weeks_shown`` weeks as a Monday-to-Friday grid (weekdays along the top, a row
    per week labelled with its Monday and total) coloured by net P&L (green up, red down, white
    flat), each cell labelled with its money; empty cells had no trade."""
    totals = weekly_totals(daily).tail(weeks_shown)
    by_day = {row.day: row for row in daily.itertuples()}
    labels, values, texts, hovers = [], [], [], []
    for week in totals.itertuples():
        labels.append(f"{week.week:%b %d} · {fmt.signed_usd(week.net_cents)}")
        cells = [by_day.get(week.week + timedelta(days=i)) for i in range(len(WEEKDAYS))]
        values.append([None if c is None else c.net_cents / 100 for c in cells])
        texts.append(["" if c is None else fmt.signed_usd(c.net_cents) for c in cells])
        hovers.append(["no trade" if c is None else
                       f"{c.day:%a %Y-%m-%d}: {fmt.signed_usd(c.net_cents)}, {c.trades} trade(s)"
                       for c in cells])
    limit = max([abs(v) for row in values for v in row if v is not None] or [1.0])
    figure = go.Figure(go.Heatmap(
        z=values, x=list(WEEKDAYS), y=labels, text=texts, texttemplate="%{text}",
        customdata=hovers, hovertemplate="%{customdata}<extra></extra>", zmid=0,
        zmin=-limit, zmax=limit, colorscale=[[0, "#d7191c"], [0.5, "#ffffff"], [1, "#1a9641"]],
        showscale=False, xgap=3, ygap=3, name="Daily P&L",
    ))
    # No figure title: the page's heading names it, and a title would sit on the weekdays.
    figure.update_layout(
        height=max(140, 50 + 44 * len(labels)), margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"autorange": "reversed", "type": "category", "showgrid": False},
        xaxis={"side": "top", "showgrid": False}, plot_bgcolor="#f4f4f4",
    )
    return figure
