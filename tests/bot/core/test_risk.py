"""Risk rules, each on both sides of its threshold; sizing; exits management."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core import risk
from bot.core.risk import EntryRequest, InstructionKind, RiskRule, RiskState
from shared.config.settings import RiskConfig
from shared.domain.instruments import get_instrument
from shared.domain.models import (
    Action,
    ExitReason,
    OrderPlan,
    OrderType,
    Position,
    Rejection,
    Side,
    TradeRecord,
)

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
MES = get_instrument("MES")
ES = get_instrument("ES")
# The rules are tested at these round values (the defaults fit 5-second bars; see below).
RULES = {"atr_stop_multiplier": 2.0, "min_stop_points": 10.0, "max_trades_per_day": 10,
         "max_consecutive_losses": 3, "cooldown_after_loss_minutes": 5.0,
         "max_hold_minutes": 60.0, "trailing_distance_points": 8.0}
CFG = RiskConfig(**RULES)


def rules(**changes) -> RiskConfig:
    return RiskConfig(**{**RULES, **changes})


def request(**changes) -> EntryRequest:
    base = EntryRequest(
        action=Action.BUY, confidence=0.8, close=5000.0, atr_points=2.0, now=NOW,
        minutes_to_close=120.0, regime_tradable=True, regime_reasons=(), position=None,
        entry_pending=False,
    )
    return replace(base, **changes)


def plan(req=None, state=None, cfg=CFG, instrument=MES):
    return risk.plan_entry(req or request(), state or RiskState(), cfg, instrument)


def rule_of(verdict) -> str | None:
    return verdict.rule if isinstance(verdict, Rejection) else None


def test_long_bracket_levels_and_size():
    verdict = plan()
    assert isinstance(verdict, OrderPlan)
    assert verdict.side is Side.LONG and verdict.entry_type is OrderType.MARKET
    assert verdict.stop_points == 10 and verdict.target_points == 15
    assert (verdict.stop_price, verdict.entry_price, verdict.target_price) == (4990, 5000, 5015)
    assert verdict.contracts == 2  # $100 / (10 pts x $5)


def test_short_bracket_levels_mirror():
    verdict = plan(request(action=Action.SELL, close=5000.25))
    assert isinstance(verdict, OrderPlan)
    assert (verdict.stop_price, verdict.target_price) == (5010.25, 4985.25)


@pytest.mark.parametrize(
    ("atr", "expected_stop"),
    [(4.9, 10.0), (5.0, 10.0), (5.1, 10.25), (6.0, 12.0), (6.06, 12.25)],
)
def test_stop_is_max_of_atr_multiple_and_minimum_rounded_up(atr, expected_stop):
    stop, target = risk.stop_and_target_points(atr, CFG, MES)
    assert stop == expected_stop
    assert target == MES.round_to_tick(expected_stop * 1.5)


@pytest.mark.parametrize("bar_seconds", [5, 60, 300])
def test_the_stop_is_measured_in_one_minute_atrs_whatever_the_bar_size(bar_seconds):
    # A bar's ATR grows with the square root of its length: a 5-second ATR of 1.5 is a
    # one-minute ATR of 1.5 x sqrt(12) = 5.2 points, so 2 x 5.2 = 10.39 -> 10.5 points.
    one_minute_atr = 1.5 * math.sqrt(12)
    atr = one_minute_atr * math.sqrt(bar_seconds / 60)
    stop, _ = risk.stop_and_target_points(atr, CFG, MES, bar_seconds)
    assert stop == 10.5
    assert risk.minute_atr_points(atr, bar_seconds) == pytest.approx(one_minute_atr)


@pytest.mark.parametrize(
    ("atr_5s", "stop", "target"),
    [(0.18, 3.0, 4.5), (0.36, 5.75, 8.75), (0.8, 12.5, 18.75)],  # overnight, midday, open
)
def test_default_stops_on_the_built_in_5_second_market(atr_5s, stop, target):
    # ATR(14) medians of the built-in market's 5-second bars at 5,000 points.
    assert risk.stop_and_target_points(atr_5s, RiskConfig(), MES, 5) == (stop, target)


@pytest.mark.parametrize(
    ("confidence", "contracts"), [(0.69, 1), (0.7, 2), (0.95, 2)]
)
def test_size_halved_below_confidence_threshold(confidence, contracts):
    verdict = plan(request(confidence=confidence))
    assert isinstance(verdict, OrderPlan) and verdict.contracts == contracts


def test_size_capped_by_max_contracts():
    cfg = rules(risk_per_trade_usd=1000, max_contracts=3)
    verdict = plan(cfg=cfg)
    assert isinstance(verdict, OrderPlan) and verdict.contracts == 3


def test_es_with_small_risk_budget_is_rejected_not_rounded_up():
    verdict = plan(instrument=ES)
    assert rule_of(verdict) == RiskRule.SIZE
    assert "$500.00" in verdict.reason


def test_es_sized_from_its_point_value():
    verdict = plan(cfg=rules(risk_per_trade_usd=1000, daily_loss_limit_usd=2000),
                   instrument=ES)
    assert isinstance(verdict, OrderPlan) and verdict.contracts == 2


@pytest.mark.parametrize(("confidence", "allowed"), [(0.5, False), (0.5001, True)])
def test_entry_only_above_min_weighted_confidence(confidence, allowed):
    verdict = plan(request(confidence=confidence))
    assert isinstance(verdict, OrderPlan) is allowed
    if not allowed:
        assert rule_of(verdict) == RiskRule.CONFIDENCE


def test_halted_blocks_entries_with_reason():
    verdict = plan(state=risk.halt(RiskState(), "kill switch"))
    assert rule_of(verdict) == RiskRule.HALTED and "kill switch" in verdict.reason
    assert isinstance(plan(state=risk.resume(risk.halt(RiskState(), "x"))), OrderPlan)


def test_regime_not_tradable_blocks_with_its_reasons():
    verdict = plan(request(regime_tradable=False, regime_reasons=("maintenance break",)))
    assert rule_of(verdict) == RiskRule.REGIME and verdict.reason == "maintenance break"


def _position(side=Side.LONG, **changes):
    base = Position("MES", side, 1, 5000.0, NOW - timedelta(minutes=5), "B1", 4990.0, 5015.0, 62)
    return replace(base, **changes)


def test_no_pyramiding_in_the_same_direction():
    assert rule_of(plan(request(position=_position(Side.LONG)))) == RiskRule.PYRAMIDING


def test_no_reversal_while_a_position_is_open():
    verdict = plan(request(action=Action.SELL, position=_position(Side.LONG)))
    assert rule_of(verdict) == RiskRule.POSITION_OPEN


def test_no_second_entry_while_one_is_working():
    assert rule_of(plan(request(entry_pending=True))) == RiskRule.ENTRY_PENDING


@pytest.mark.parametrize(("realized_cents", "blocked"), [(-30000, True), (-29999, False)])
def test_daily_loss_cap(realized_cents, blocked):
    state = RiskState(realized_today_cents=realized_cents)
    verdict = plan(request(), state)
    assert (rule_of(verdict) == RiskRule.DAILY_LOSS) is blocked


def test_size_shrinks_so_a_stop_out_cannot_breach_the_daily_cap():
    # $300 cap, $260 lost: $40 left, one MES contract at a 10-point stop risks $50.
    verdict = plan(state=RiskState(realized_today_cents=-26000))
    assert rule_of(verdict) == RiskRule.SIZE
    verdict = plan(state=RiskState(realized_today_cents=-24000))  # $60 left: one contract
    assert isinstance(verdict, OrderPlan) and verdict.contracts == 1


@pytest.mark.parametrize(("entries", "blocked"), [(9, False), (10, True)])
def test_max_trades_per_day(entries, blocked):
    verdict = plan(state=RiskState(entries_today=entries))
    assert (rule_of(verdict) == RiskRule.MAX_TRADES) is blocked


@pytest.mark.parametrize(("losses", "blocked"), [(2, False), (3, True)])
def test_max_consecutive_losses(losses, blocked):
    verdict = plan(state=RiskState(consecutive_losses=losses))
    assert (rule_of(verdict) == RiskRule.CONSECUTIVE_LOSSES) is blocked


@pytest.mark.parametrize(("minutes_ago", "blocked"), [(4.9, True), (5.0, False)])
def test_cooldown_after_a_loss(minutes_ago, blocked):
    state = RiskState(last_loss_ts=NOW - timedelta(minutes=minutes_ago))
    verdict = plan(state=state)
    assert (rule_of(verdict) == RiskRule.COOLDOWN) is blocked


@pytest.mark.parametrize(("minutes", "blocked"), [(14.9, True), (15.0, False)])
def test_no_entries_near_the_close_or_break(minutes, blocked):
    verdict = plan(request(minutes_to_close=minutes))
    assert (rule_of(verdict) == RiskRule.NEAR_CLOSE) is blocked


def test_unknown_atr_cannot_place_a_stop():
    assert rule_of(plan(request(atr_points=float("nan")))) == RiskRule.SIZE


def test_hold_is_not_planned():
    with pytest.raises(ValueError, match="BUY or SELL"):
        plan(request(action=Action.HOLD))


def test_limit_entry_offsets_in_our_favour():
    cfg = rules(entry_order_type="limit", limit_offset_ticks=2)
    long_plan = plan(cfg=cfg)
    short_plan = plan(request(action=Action.SELL), cfg=cfg)
    assert long_plan.entry_type is OrderType.LIMIT and long_plan.entry_price == 4999.5
    assert short_plan.entry_price == 5000.5


def _trade(net_cents: int, exit_ts=NOW) -> TradeRecord:
    return TradeRecord("B", "MES", Side.LONG, 1, exit_ts - timedelta(minutes=1), 5000.0, exit_ts,
                       5001.0, ExitReason.STOP, net_cents + 124, 124, net_cents)


def test_state_counts_losses_and_resets_streak_on_a_win():
    state = risk.record_trade(RiskState(), _trade(-5000))
    state = risk.record_trade(state, _trade(-100))
    assert state.consecutive_losses == 2 and state.realized_today_cents == -5100
    assert state.last_loss_ts == NOW
    state = risk.record_trade(state, _trade(700))
    assert state.consecutive_losses == 0 and state.realized_today_cents == -4400


@pytest.mark.parametrize("reason", [ExitReason.FLATTEN, ExitReason.KILL_SWITCH])
def test_the_traders_own_exit_is_no_loss_for_the_streak_or_the_cooldown(reason):
    state = risk.record_trade(RiskState(), _trade(-300, NOW - timedelta(minutes=30)))
    manual = replace(_trade(-2500, NOW), exit_reason=reason)
    state = risk.record_trade(state, manual)
    assert state.realized_today_cents == -2800, "the money lost still counts against the cap"
    assert state.consecutive_losses == 1 and state.last_loss_ts == NOW - timedelta(minutes=30)
    after = request(now=NOW + timedelta(seconds=30))
    assert isinstance(plan(after, state), OrderPlan), "entries are open right after the flatten"
    rebuilt = risk.rebuild_state(date(2025, 3, 4), [manual], 1, False, "")
    assert rebuilt.consecutive_losses == 0 and rebuilt.last_loss_ts is None
    assert risk.entry_block(rebuilt, CFG, NOW + timedelta(seconds=30), 120.0) is None


def test_a_stop_out_still_starts_the_cooldown():
    state = risk.record_trade(RiskState(), _trade(-2500, NOW))
    verdict = plan(request(now=NOW + timedelta(seconds=30)), state)
    assert rule_of(verdict) == RiskRule.COOLDOWN


def test_new_trading_day_resets_daily_counters_but_not_a_halt():
    state = RiskState(date(2025, 3, 4), -20000, 7, 2, NOW, True, "kill")
    same = risk.start_day(state, date(2025, 3, 4))
    assert same is state
    new = risk.start_day(state, date(2025, 3, 5))
    assert (new.realized_today_cents, new.entries_today, new.consecutive_losses) == (0, 0, 0)
    assert new.halted and new.halt_reason == "kill"


def test_rebuild_state_from_journal():
    trades = [_trade(-100, NOW), _trade(-200, NOW + timedelta(minutes=2))]
    state = risk.rebuild_state(date(2025, 3, 4), trades, 3, True, "x")
    assert state.entries_today == 3 and state.consecutive_losses == 2
    assert state.realized_today_cents == -300 and state.halted


# --- exits management -----------------------------------------------------------------------


def test_disaster_stop_at_threshold():
    cfg = rules(disaster_stop_usd=50)
    position = _position(stop_price=None)
    assert risk.manage_position(position, 4990.25, NOW, cfg, MES) is None  # $48.75 < $50
    instruction = risk.manage_position(position, 4990.0, NOW, cfg, MES)
    assert instruction.kind is InstructionKind.EXIT
    assert instruction.exit_reason is ExitReason.DISASTER_STOP


@pytest.mark.parametrize(("held_minutes", "exits"), [(59.9, False), (60.0, True)])
def test_time_exit(held_minutes, exits):
    position = _position(entry_ts=NOW - timedelta(minutes=held_minutes))
    instruction = risk.manage_position(position, 5000.0, NOW, CFG, MES)
    assert (instruction is not None and instruction.exit_reason is ExitReason.TIME_EXIT) is exits


def test_trailing_stop_activates_and_only_tightens():
    below = risk.manage_position(_position(), 5005.75, NOW, CFG, MES)
    assert below is None
    moved = risk.manage_position(_position(), 5006.0, NOW, CFG, MES)
    assert moved.kind is InstructionKind.MOVE_STOP and moved.new_stop_price == 4998.0
    tighter_already = _position(stop_price=4999.0)
    assert risk.manage_position(tighter_already, 5006.0, NOW, CFG, MES) is None


def test_trailing_stop_for_a_short_rounds_away_from_price():
    position = _position(Side.SHORT, stop_price=5010.0, target_price=4985.0)
    moved = risk.manage_position(position, 4993.9, NOW, CFG, MES)
    assert moved.new_stop_price == 5002.0  # 4993.9 + 8 = 5001.9, rounded up to the tick


def test_trailing_disabled():
    cfg = rules(trailing_stop_enabled=False)
    assert risk.manage_position(_position(), 5020.0, NOW, cfg, MES) is None


def test_entry_block_reports_the_day_ended_by_the_loss_streak_and_the_halt():
    now = request().now
    streak = RiskState(consecutive_losses=CFG.max_consecutive_losses)
    assert risk.entry_block(streak, CFG, now, 300).rule == RiskRule.CONSECUTIVE_LOSSES
    halted = RiskState(halted=True, halt_reason="flatten")
    assert "flatten" in risk.entry_block(halted, CFG, now, 300).reason
    assert risk.entry_block(RiskState(), CFG, now, 300) is None
    loss_at = now - timedelta(minutes=1)
    cooling = RiskState(last_loss_ts=loss_at)
    assert risk.entry_block(cooling, CFG, now, 300).rule == RiskRule.COOLDOWN
    assert risk.cooldown_until(cooling, CFG) == loss_at + timedelta(
        minutes=CFG.cooldown_after_loss_minutes)
