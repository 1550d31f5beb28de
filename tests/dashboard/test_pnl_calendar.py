"""The P&L calendar buckets closed trades by CME trading day (17:00 CT to 16:00 CT, named by the
day it ends) and totals them per week and month in the dashboard's money format."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard import pnl_calendar
from shared.domain.models import ExitReason, Side, TradeRecord

pytestmark = pytest.mark.unit
CT = ZoneInfo("America/Chicago")


def trade(exit_ct: datetime, net_cents: int, n: int = 0) -> TradeRecord:
    exit_ts = exit_ct.replace(tzinfo=CT).astimezone(UTC)
    return TradeRecord(f"b{n}", "MES", Side.LONG, 1, exit_ts, 5000.0, exit_ts, 5001.0,
                       ExitReason.TARGET, net_cents + 124, 124, net_cents)


@pytest.mark.parametrize(("exit_ct", "day"), [
    (datetime(2025, 3, 3, 9, 15), date(2025, 3, 3)),       # Monday RTH
    (datetime(2025, 3, 3, 15, 59), date(2025, 3, 3)),      # before the 16:00 close
    (datetime(2025, 3, 3, 17, 0), date(2025, 3, 4)),       # the 17:00 open starts Tuesday
    (datetime(2025, 3, 3, 23, 30), date(2025, 3, 4)),      # overnight belongs to Tuesday
    (datetime(2025, 3, 2, 18, 5), date(2025, 3, 3)),       # Sunday evening opens Monday
    (datetime(2025, 3, 7, 17, 30), date(2025, 3, 10)),     # after Friday's close: next Monday
    (datetime(2025, 3, 9, 17, 30), date(2025, 3, 10)),     # Sunday after the DST change
])
def test_a_trade_counts_for_the_cme_trading_day_it_closed_in(exit_ct, day):
    assert pnl_calendar.trading_day(exit_ct.replace(tzinfo=CT)) == day


def test_the_trading_day_does_not_depend_on_the_zone_the_time_is_given_in():
    moment = datetime(2025, 3, 4, 23, 30, tzinfo=UTC)  # 17:30 CST: Wednesday's session
    assert pnl_calendar.trading_day(moment) == date(2025, 3, 5)
    assert pnl_calendar.trading_day(moment.astimezone(ZoneInfo("Asia/Tokyo"))) == date(2025, 3, 5)


TRADES = [
    trade(datetime(2025, 3, 2, 19, 0), -2_500, 1),   # Mon 3 Mar (Sunday evening)
    trade(datetime(2025, 3, 3, 10, 0), 12_575, 2),   # Mon 3 Mar
    trade(datetime(2025, 3, 3, 18, 0), -4_000, 3),   # Tue 4 Mar
    trade(datetime(2025, 3, 7, 15, 0), 1_000, 4),    # Fri 7 Mar
    trade(datetime(2025, 3, 31, 9, 0), -125_050, 5),  # Mon 31 Mar
    trade(datetime(2025, 3, 31, 17, 5), 300, 6),      # Tue 1 Apr: next month
]


def test_daily_rows_sum_each_trading_day_and_show_exits_in_the_display_zone():
    daily = pnl_calendar.daily_frame(TRADES, "UTC")
    assert list(daily["day"]) == [date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 7),
                                  date(2025, 3, 31), date(2025, 4, 1)]
    assert list(daily["net_cents"]) == [10_075, -4_000, 1_000, -125_050, 300]
    assert list(daily["trades"]) == [2, 1, 1, 1, 1]
    table = pnl_calendar.day_table(daily, "UTC")
    first = table.iloc[-1]  # newest first
    assert first["trading day"] == "Mon 2025-03-03" and first["net P&L"] == "+$100.75"
    assert first["first exit"] == "2025-03-03 01:00:00 UTC"  # Sunday 19:00 CST in UTC
    tokyo = pnl_calendar.day_table(daily, "Asia/Tokyo").iloc[-1]
    assert tokyo["first exit"] == "2025-03-03 10:00:00 JST"


def test_week_and_month_totals_in_the_dashboard_money_format():
    daily = pnl_calendar.daily_frame(TRADES, "UTC")
    weeks = pnl_calendar.weekly_table(daily)
    assert list(weeks["week of"]) == ["2025-03-31", "2025-03-03"]
    march_3 = weeks.iloc[1]
    assert (march_3["Mon"], march_3["Tue"], march_3["Wed"], march_3["Fri"]) == (
        "+$100.75", "-$40.00", "", "+$10.00")
    assert march_3["week"] == "+$70.75" and march_3["trades"] == 4
    assert weeks.iloc[0]["week"] == "-$1,247.50"
    months = pnl_calendar.monthly_table(daily)
    assert list(months["month"]) == ["2025-04", "2025-03"]
    march = months.iloc[1]
    assert (march["net P&L"], march["trades"], march["green days"], march["red days"]) == (
        "-$1,179.75", 5, 2, 2)


def test_the_heatmap_grid_has_one_row_per_week_and_money_in_its_cells():
    figure = pnl_calendar.heatmap(pnl_calendar.daily_frame(TRADES, "UTC"))
    (grid,) = figure.data
    assert list(grid.x) == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert list(grid.y) == ["Mar 03 · +$70.75", "Mar 31 · -$1,247.50"]
    assert list(grid.text[0]) == ["+$100.75", "-$40.00", "", "", "+$10.00"]
    assert grid.z[0][2] is None and grid.zmid == 0


def test_no_trade_gives_empty_tables():
    daily = pnl_calendar.daily_frame([], "UTC")
    assert daily.empty and pnl_calendar.weekly_table(daily).empty
    assert pnl_calendar.monthly_table(daily).empty
