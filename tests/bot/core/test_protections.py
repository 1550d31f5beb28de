"""Protections, each on both sides of its threshold: % of equity limits (the smaller limit
applies), the exposure cap, the profit target and give-back lock (open P&L counted), the
multi-day drawdown pause, release blackouts and the exit before a release."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core import protections, risk
from bot.core.protections import ProtectionRule, ReleaseCalendar
from bot.core.risk import EntryRequest, RiskRule, RiskState
from bot.core.sessions import CmeSessionClock
from shared.calendars.releases import Release
from shared.config.protections import ProtectionsConfig
from shared.config.settings import RiskConfig
from shared.domain.instruments import get_instrument
from shared.domain.models import Action, ExitReason, OrderPlan, Rejection, Side, TradeRecord

MES = get_instrument("MES")
NOW = datetime(2025, 9, 11, 12, 0, tzinfo=UTC)  # 08:00 ET on a CPI day
CPI = Release(datetime(2025, 9, 11, 12, 30, tzinfo=UTC), "CPI")
CALENDAR = ReleaseCalendar((CPI,))
RISK = RiskConfig(atr_stop_multiplier=2.0, min_stop_points=10.0, risk_per_trade_usd=200.0,
                  max_contracts=10, daily_loss_limit_usd=1_000.0)
EQUITY_CENTS = 2_500_000  # $25,000


def prot(**fields) -> ProtectionsConfig:
    return ProtectionsConfig(**fields)


def request(**changes) -> EntryRequest:
    base = EntryRequest(action=Action.BUY, confidence=0.8, close=5000.0, atr_points=2.0,
                        now=NOW, minutes_to_close=300.0, regime_tradable=True,
                        regime_reasons=(), position=None, entry_pending=False)
    return replace(base, **changes)


def trade(net_cents: int, reason: ExitReason = ExitReason.STOP) -> TradeRecord:
    return TradeRecord("B", "MES", Side.LONG, 1, NOW - timedelta(minutes=5), 5000.0, NOW,
                       5000.0, reason, net_cents, 0, net_cents)


# --- % of equity: the smaller limit applies -------------------------------------------------

def test_risk_per_trade_pct_lowers_size_only_when_smaller_than_the_dollar_limit():
    # a 10-point stop risks $50 a MES contract: $200 fixed -> 4 contracts
    fixed = risk.plan_entry(request(), RiskState(), RISK, MES)
    assert isinstance(fixed, OrderPlan) and fixed.contracts == 4
    smaller = protections.effective_risk(RISK, prot(risk_per_trade_pct=0.4), EQUITY_CENTS)
    assert smaller.risk_per_trade_usd == pytest.approx(100.0)  # 0.4 % of $25,000 < $200
    verdict = risk.plan_entry(request(), RiskState(), smaller, MES)
    assert isinstance(verdict, OrderPlan) and verdict.contracts == 2
    larger = protections.effective_risk(RISK, prot(risk_per_trade_pct=2.0), EQUITY_CENTS)
    assert larger is RISK  # 2 % = $500 > $200: the dollar limit stays in force


def test_daily_loss_pct_caps_the_day_when_smaller():
    cfg = protections.effective_risk(RISK, prot(daily_loss_limit_pct=1.0), EQUITY_CENTS)
    assert cfg.daily_loss_limit_usd == pytest.approx(250.0)
    state = RiskState(realized_today_cents=-24_900)
    assert risk.account_block(state, cfg, NOW, 300.0) is None
    lost = risk.account_block(replace(state, realized_today_cents=-25_000), cfg, NOW, 300.0)
    assert lost is not None and lost.rule == RiskRule.DAILY_LOSS and "$250.00 cap" in lost.reason
    assert protections.effective_risk(RISK, prot(daily_loss_limit_pct=10.0), EQUITY_CENTS) is RISK


def test_pct_limits_follow_equity_down_to_nothing():
    cfg = protections.effective_risk(RISK, prot(risk_per_trade_pct=1.0), 1_000_000)  # $10,000
    assert cfg.risk_per_trade_usd == pytest.approx(100.0)
    broke = protections.effective_risk(RISK, prot(risk_per_trade_pct=1.0), -5)
    verdict = risk.plan_entry(request(), RiskState(), broke, MES)
    assert isinstance(verdict, Rejection) and verdict.rule == RiskRule.SIZE


def test_exposure_cap_lowers_contracts_then_refuses():
    plan = risk.plan_entry(request(), RiskState(), RISK, MES)
    assert isinstance(plan, OrderPlan) and plan.contracts == 4
    # one MES contract at 5,000 is $25,000 of notional: 250 % of $25,000 allows 2
    capped = protections.cap_exposure(plan, prot(max_exposure_pct=250), EQUITY_CENTS, MES)
    assert isinstance(capped, OrderPlan) and capped.contracts == 2
    assert "exposure limit" in capped.reason and capped.stop_price == plan.stop_price
    same = protections.cap_exposure(plan, prot(max_exposure_pct=400), EQUITY_CENTS, MES)
    assert same is plan
    refused = protections.cap_exposure(plan, prot(max_exposure_pct=99), EQUITY_CENTS, MES)
    assert isinstance(refused, Rejection) and refused.rule == ProtectionRule.EXPOSURE
    assert "$25,000" in refused.reason


# --- daily profit target and give-back lock (open P&L counted) -------------------------------

def test_profit_target_counts_open_pnl_and_holds_for_the_day():
    cfg = prot(daily_profit_target_usd=300)
    state = RiskState(trading_day=NOW.date(), realized_today_cents=20_000)
    state = protections.mark(state, 9_900, cfg)  # $299 on the day with the open position
    assert protections.entry_block(state, cfg, NOW, CALENDAR) is None
    state = protections.mark(state, 10_000, cfg)  # $300: reached through open P&L alone
    block = protections.entry_block(state, cfg, NOW, CALENDAR)
    assert block is not None and block.rule == ProtectionRule.PROFIT_TARGET
    state = protections.mark(state, -30_000, cfg)  # the trade then turns into a loss...
    assert protections.entry_block(state, cfg, NOW, CALENDAR) is not None  # ...still locked


def test_giveback_locks_after_half_of_the_peak_and_only_once_armed():
    cfg = prot(giveback_pct=50, giveback_min_peak_usd=100)
    state = RiskState(trading_day=NOW.date())
    state = protections.mark(state, 8_000, cfg)  # peak $80: below the $100 that arms it
    state = protections.mark(state, 0, cfg)
    assert protections.entry_block(state, cfg, NOW, CALENDAR) is None
    state = protections.mark(replace(state, realized_today_cents=10_000), 10_000, cfg)  # $200
    assert state.day_peak_pnl_cents == 20_000
    state = protections.mark(state, 1, cfg)  # $100.01: gave back $99.99 < 50 %
    assert protections.entry_block(state, cfg, NOW, CALENDAR) is None
    state = protections.mark(state, 0, cfg)  # $100: gave back half
    block = protections.entry_block(state, cfg, NOW, CALENDAR)
    assert block is not None and block.rule == ProtectionRule.GIVEBACK
    assert "gave back $100.00 of the day's $200.00 peak" in block.reason


def test_the_lock_ends_with_the_trading_day():
    cfg = prot(daily_profit_target_usd=100)
    clock = CmeSessionClock()
    state = protections.begin_day(RiskState(), date(2025, 9, 10), clock, EQUITY_CENTS)
    state = protections.mark(replace(state, realized_today_cents=15_000), 0, cfg)
    assert protections.entry_block(state, cfg, NOW, CALENDAR) is not None
    state = protections.begin_day(state, date(2025, 9, 11), clock, EQUITY_CENTS)
    assert protections.entry_block(state, cfg, NOW, CALENDAR) is None
    assert state.day_peak_pnl_cents == 0 and state.past_days == ((date(2025, 9, 10), 15_000),)


def test_begin_day_fixes_the_days_equity_from_closed_trades():
    clock = CmeSessionClock()
    state = protections.begin_day(RiskState(), date(2025, 9, 10), clock, EQUITY_CENTS)
    assert state.day_start_equity_cents == EQUITY_CENTS
    state = risk.record_trade(state, trade(-40_000))
    assert state.day_start_equity_cents == EQUITY_CENTS  # fixed for the day
    state = protections.begin_day(state, date(2025, 9, 11), clock, EQUITY_CENTS)
    assert state.day_start_equity_cents == EQUITY_CENTS - 40_000


# --- multi-day drawdown pause ---------------------------------------------------------------

def test_drawdown_over_the_last_sessions_pauses_entries_until_the_window_rolls_on():
    cfg = prot(drawdown_sessions=3, drawdown_limit_usd=500)
    clock = CmeSessionClock()
    state = RiskState()
    days = clock.trading_days_through(date(2025, 9, 12), 5)  # Sep 8 .. Sep 12
    losses = {days[0]: -30_000, days[1]: -30_000, days[2]: -25_000}
    for day in days[:4]:
        state = protections.begin_day(state, day, clock, EQUITY_CENTS)
        if day in losses:
            state = risk.record_trade(state, trade(losses[day]))
    # on days[3]: the last 3 sessions (days[1], days[2], today) lost $550
    block = protections.entry_block(state, cfg, NOW, ReleaseCalendar())
    assert block is not None and block.rule == ProtectionRule.DRAWDOWN
    assert block.reason.startswith("net -$550.00 over the last 3 sessions")
    # a winner today brings the window back above the limit
    assert protections.entry_block(risk.record_trade(state, trade(6_000)), cfg, NOW,
                                   ReleaseCalendar()) is None
    state = protections.begin_day(state, days[4], clock, EQUITY_CENTS)  # days[1] drops out
    assert protections.drawdown_cents(state, 3) == -25_000
    assert protections.entry_block(state, cfg, NOW, ReleaseCalendar()) is None


def test_restore_rebuilds_history_equity_and_the_days_lock():
    cfg = prot(drawdown_sessions=2, drawdown_limit_usd=300, giveback_pct=50)
    day, before = date(2025, 9, 11), date(2025, 9, 10)
    today = risk.rebuild_state(day, [trade(20_000), trade(-12_000)], 2, False, "")
    state = protections.restore(today, [before, day], {before: -40_000, day: 8_000},
                                [20_000, -12_000], -32_000, EQUITY_CENTS, cfg)
    assert state.day_start_equity_cents == EQUITY_CENTS - 40_000
    assert state.realized_today_cents == 8_000 and state.day_peak_pnl_cents == 20_000
    assert state.profit_lock_rule == ProtectionRule.GIVEBACK  # $200 peak, $120 given back
    assert protections.drawdown_cents(state, 2) == -32_000


# --- economic-release blackouts -------------------------------------------------------------

@pytest.mark.parametrize(("minutes_from_release", "blocked"), [
    (-16, False), (-15, True), (0, True), (10, True), (10.5, False)])
def test_blackout_window_around_a_release(minutes_from_release, blocked):
    cfg = prot(blackout_events=("CPI",), blackout_before_minutes=15, blackout_after_minutes=10)
    now = CPI.at + timedelta(minutes=minutes_from_release)
    block = protections.entry_block(RiskState(), cfg, now, CALENDAR)
    assert (block is not None) is blocked
    if block is not None:
        assert block.rule == ProtectionRule.BLACKOUT
        assert block.reason.startswith("CPI at 2025-09-11 08:30 ET")


def test_blackouts_off_or_calendar_empty_block_nothing():
    assert protections.entry_block(RiskState(), prot(), CPI.at, CALENDAR) is None
    on = prot(blackout_events=("CPI",))
    assert protections.entry_block(RiskState(), on, CPI.at, ReleaseCalendar()) is None


def test_flatten_before_a_release_only_inside_its_lead_time():
    cfg = prot(blackout_events=("CPI",), flatten_before_release_minutes=5)
    assert protections.flatten_due(CPI.at - timedelta(minutes=6), cfg, CALENDAR) is None
    assert protections.flatten_due(CPI.at - timedelta(minutes=5), cfg, CALENDAR) == CPI
    assert protections.flatten_due(CPI.at + timedelta(minutes=1), cfg, CALENDAR) is None
    off = prot(blackout_events=("CPI",))
    assert protections.flatten_due(CPI.at - timedelta(minutes=1), off, CALENDAR) is None


def test_a_release_flatten_is_not_a_strategy_loss():
    state = risk.record_trade(RiskState(), trade(-5_000, ExitReason.RELEASE_FLATTEN))
    assert state.realized_today_cents == -5_000
    assert state.consecutive_losses == 0 and state.last_loss_ts is None


# --- config -----------------------------------------------------------------------------------

def test_defaults_are_all_off():
    cfg = ProtectionsConfig()
    assert protections.effective_risk(RISK, cfg, EQUITY_CENTS) is RISK
    assert not cfg.marks_open_pnl and not cfg.blackout_events
    assert protections.entry_block(RiskState(realized_today_cents=-10**9), cfg, CPI.at,
                                   CALENDAR) is None


@pytest.mark.parametrize(("fields", "message"), [
    ({"drawdown_sessions": 3}, "set together"),
    ({"drawdown_limit_usd": 100}, "set together"),
    ({"flatten_before_release_minutes": 5}, "needs blackout_events"),
    ({"blackout_events": ["CPI"], "flatten_before_release_minutes": 20}, "must not exceed"),
    ({"risk_per_trade_pct": 101}, "less than or equal to 100"),
    ({"drawdown_sessions": 21, "drawdown_limit_usd": 1}, "less than or equal to 20"),
    ({"giveback_pct": float("nan")}, "finite"),
])
def test_bad_protections_are_refused_with_the_reason(fields, message):
    with pytest.raises(ValueError, match=message):
        ProtectionsConfig(**fields)


# --- what the risk panel shows ------------------------------------------------------------------

def test_status_lines_name_each_protection_in_force_with_its_state():
    assert protections.status_lines(RiskState(), prot(), RISK, NOW, CALENDAR) == ()
    cfg = prot(risk_per_trade_pct=0.4, daily_profit_target_usd=300, giveback_pct=50,
               drawdown_sessions=3, drawdown_limit_usd=500, blackout_events=("CPI",),
               flatten_before_release_minutes=5)
    state = RiskState(day_start_equity_cents=EQUITY_CENTS, realized_today_cents=5_000,
                      open_pnl_cents=-1_000, day_peak_pnl_cents=9_000)
    lines = protections.status_lines(state, cfg, RISK, NOW, CALENDAR)
    assert lines == (
        "Risk per trade $100.00: 0.4% of $25,000 equity is $100.00, the fixed limit $200.00; "
        "the smaller applies",
        "Profit target $300.00: day P&L $40.00 (peak $90.00)",
        "Give-back lock at 50% of the day's peak (armed from $100.00): peak $90.00, day P&L "
        "$40.00",
        "Last 3 sessions: $50.00 (pause at -$500.00)",
        "Release blackout CPI -15/+15 min, flatten 5 min before: next CPI Thu 2025-09-11 "
        "08:30 ET",
    )
    after = protections.status_lines(state, cfg, RISK, NOW + timedelta(hours=2), CALENDAR)
    assert after[-1].endswith("no listed release ahead")
