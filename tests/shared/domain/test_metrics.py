"""Metrics of closed trades, checked against figures worked out by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from shared.domain import metrics
from shared.domain.instruments import get_instrument
from shared.domain.models import ExitReason, Side, TradeRecord

# Tuesday 2025-03-04 15:00 UTC = 09:00 CT.
T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def trade(net: int, entry: datetime, minutes: int = 10, reason=ExitReason.TARGET,
          labels=None, commission: int = 124) -> TradeRecord:
    return TradeRecord(
        bracket_id=f"B{entry:%H%M%d}{net}", symbol="MES", side=Side.LONG, contracts=1,
        entry_ts=entry, entry_price=5000.0, exit_ts=entry + timedelta(minutes=minutes),
        exit_price=5000.0, exit_reason=reason, pnl_gross_cents=net + commission,
        commission_cents=commission, pnl_net_cents=net, labels=labels or {},
    )


TRADES = [
    trade(1000, T0, reason=ExitReason.TARGET, labels={"trend": "trend_up"}),
    trade(-500, T0 + timedelta(hours=1), reason=ExitReason.STOP, labels={"trend": "range"}),
    trade(2000, T0 + timedelta(days=1), reason=ExitReason.TARGET, labels={"trend": "trend_up"}),
    trade(-1500, T0 + timedelta(days=1, hours=2), reason=ExitReason.STOP,
          labels={"trend": "trend_up"}),
    trade(0, T0 + timedelta(days=2), reason=ExitReason.TIME_EXIT, labels={"trend": "range"}),
]


def test_trade_stats_net_win_rate_profit_factor_averages_and_expectancy():
    stats = metrics.trade_stats(TRADES)
    assert stats.trades == 5 and stats.wins == 2 and stats.losses == 2
    assert stats.net_pnl_cents == 1000
    assert stats.commission_cents == 5 * 124
    assert stats.gross_pnl_cents == 1000 + 5 * 124
    assert stats.win_rate == pytest.approx(0.4)
    assert stats.profit_factor == pytest.approx(3000 / 2000)
    assert stats.average_win_cents == 1500 and stats.average_loss_cents == -1000
    assert stats.average_trade_cents == 200
    assert stats.expectancy_cents == pytest.approx(0.4 * 1500 + 0.4 * -1000)
    assert (stats.largest_win_cents, stats.largest_loss_cents) == (2000, -1500)


def test_trade_stats_of_no_trades_and_of_only_winners_are_nan_and_inf():
    empty = metrics.trade_stats([])
    assert empty.trades == 0 and empty.net_pnl_cents == 0
    assert math.isnan(empty.win_rate) and math.isnan(empty.profit_factor)
    assert metrics.trade_stats([trade(100, T0)]).profit_factor == math.inf


def test_equity_and_drawdown_curves_follow_the_exits():
    curve = metrics.equity_curve(TRADES, 100_000)
    assert [e for _, e in curve] == [101_000, 100_500, 102_500, 101_000, 101_000]
    drawdowns = metrics.drawdown_curve(curve, 100_000)
    assert [d for _, d in drawdowns] == [0, -500, 0, -1500, -1500]


def test_max_drawdown_depth_percent_and_longest_underwater_time():
    curve = metrics.equity_curve(TRADES, 100_000)
    drawdown = metrics.max_drawdown(curve, 100_000)
    assert drawdown.max_drawdown_cents == -1500
    assert drawdown.max_drawdown_pct == pytest.approx(-1500 / 102_500 * 100)
    assert drawdown.peak_ts == TRADES[2].exit_ts and drawdown.trough_ts == TRADES[3].exit_ts
    # Underwater from the third exit until the end (the last exit), never recovered.
    assert drawdown.longest_underwater == TRADES[4].exit_ts - TRADES[2].exit_ts


def test_drawdown_recovered_counts_peak_to_recovery():
    trades = [trade(-100, T0), trade(300, T0 + timedelta(hours=5)), trade(50, T0 + timedelta(
        days=3))]
    curve = metrics.equity_curve(trades, 10_000)
    drawdown = metrics.max_drawdown(curve, 10_000, start_ts=T0)
    assert drawdown.max_drawdown_cents == -100
    assert drawdown.longest_underwater == trades[1].exit_ts - T0


def test_trading_day_rolls_at_17_00_chicago():
    assert metrics.trading_day(datetime(2025, 3, 4, 21, 59, tzinfo=UTC)) == date(2025, 3, 4)
    assert metrics.trading_day(datetime(2025, 3, 4, 23, 0, tzinfo=UTC)) == date(2025, 3, 5)
    # Sunday 17:00 CT opens Monday's session.
    assert metrics.trading_day(datetime(2025, 3, 2, 23, 0, tzinfo=UTC)) == date(2025, 3, 3)


def test_daily_pnl_fills_quiet_days_and_returns_compound():
    days = [date(2025, 3, 4), date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7)]
    by_day = metrics.daily_pnl(TRADES, days)
    assert by_day == {days[0]: 500, days[1]: 500, days[2]: 0, days[3]: 0}
    returns = metrics.daily_returns(by_day, 100_000)
    assert returns == [500 / 100_000, 500 / 100_500, 0.0, 0.0]


def test_sharpe_and_sortino_match_their_formulas():
    returns = [0.01, -0.02, 0.03, 0.0]
    mean = sum(returns) / 4
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    assert metrics.sharpe_ratio(returns) == pytest.approx(mean / std * math.sqrt(252))
    downside = math.sqrt(0.02**2 / 4)
    assert metrics.sortino_ratio(returns) == pytest.approx(mean / downside * math.sqrt(252))
    assert math.isnan(metrics.sharpe_ratio([0.01]))
    assert math.isnan(metrics.sortino_ratio([0.1, 0.2]))
    ruined = metrics.daily_returns({date(2025, 3, 4): -200, date(2025, 3, 5): 50}, 100)
    assert math.isnan(ruined[1])  # no equity left to return on
    assert math.isnan(metrics.sharpe_ratio(ruined)) and math.isnan(metrics.sortino_ratio(ruined))


def test_exposure_counts_bars_held_once_even_when_trades_touch():
    starts = [T0 + timedelta(minutes=i) for i in range(20)]
    ns = np.array([int(s.timestamp()) * 1_000_000_000 for s in starts], dtype=np.int64)
    first = trade(1, starts[2], minutes=3)  # bars 2..5
    second = trade(1, starts[5], minutes=2)  # bars 5..7, reverses on bar 5
    assert metrics.exposure([first, second], ns) == pytest.approx(6 / 20)
    assert metrics.exposure([], ns) == 0.0


def test_buy_and_hold_is_whole_ticks_times_tick_value():
    assert metrics.buy_and_hold_cents(5000.0, 5010.25, get_instrument("MES"), 2) == 41 * 125 * 2
    assert metrics.buy_and_hold_cents(5000.0, 4999.0, get_instrument("ES")) == -4 * 1250


def test_breakdowns_by_label_hour_weekday_and_exit_reason():
    tables = metrics.breakdowns(TRADES)
    trend = {row.key: row for row in tables["trend"]}
    assert trend["trend_up"].trades == 3 and trend["trend_up"].net_pnl_cents == 1500
    assert trend["range"].net_pnl_cents == -500 and trend["range"].wins == 0
    assert [row.key for row in tables["hour"]] == ["09", "10", "11"]  # Chicago entry hours
    weekdays = {row.key: row.trades for row in tables["weekday"]}
    assert weekdays == {"1 Tue": 2, "2 Wed": 2, "3 Thu": 1}
    reasons = {row.key: row.net_pnl_cents for row in tables["exit_reason"]}
    assert reasons == {"stop": -2000, "target": 3000, "time_exit": 0}
    assert {row.key for row in tables["volatility"]} == {"unknown"}


def test_summarize_is_consistent_with_the_parts():
    days = [date(2025, 3, 4), date(2025, 3, 5), date(2025, 3, 6), date(2025, 3, 7)]
    summary = metrics.summarize(TRADES, 100_000, days, None, buy_and_hold_pnl_cents=700)
    assert summary["net_pnl_cents"] == 1000 and summary["ending_equity_cents"] == 101_000
    assert summary["trading_days"] == 4 and summary["trades_per_day"] == 5 / 4
    assert summary["max_drawdown_cents"] == -1500
    assert summary["excess_over_buy_and_hold_cents"] == 300
    returns = metrics.daily_returns(metrics.daily_pnl(TRADES, days), 100_000)
    assert summary["sharpe"] == metrics.sharpe_ratio(returns)
    assert math.isnan(summary["exposure"])
