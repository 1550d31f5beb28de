"""The trader's stop/target moves: tighten always, widen a stop only within the loss limit."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.trade_control import (
    FAT_FINGER_BAND_FRACTION,
    LevelKind,
    LevelMove,
    check_level_move,
    on_tick,
    stop_loss_limit_cents,
)
from shared.config.settings import RiskConfig
from shared.domain.instruments import get_instrument
from shared.domain.models import Side

pytestmark = pytest.mark.unit

MES = get_instrument("MES")
CFG = RiskConfig(risk_per_trade_usd=100.0, disaster_stop_usd=500.0)


def long_stop(price: float, current: float | None = 5000.0, contracts: int = 2) -> LevelMove:
    return LevelMove(LevelKind.STOP, Side.LONG, contracts, entry_price=5006.0,
                     market_price=5010.25, current_price=current, requested_price=price)


def test_stop_above_the_market_for_a_long_is_refused_naming_both_prices():
    verdict = check_level_move(long_stop(5020.0), CFG, MES)
    assert not verdict.accepted
    assert verdict.message == "stop 5,020.00 is above the market 5,010.25 for a long"


def test_stop_at_the_market_is_refused():
    verdict = check_level_move(long_stop(5010.25), CFG, MES)
    assert not verdict.accepted and "at the market 5,010.25" in verdict.message
    assert "below it" in verdict.message


def test_tightening_a_stop_is_accepted_even_past_the_entry():
    verdict = check_level_move(long_stop(5008.0), CFG, MES)
    assert verdict.accepted and not verdict.widens and verdict.price == 5008.0
    assert verdict.message == "stop tightened 5,000.00 → 5,008.00"


def test_widening_a_stop_within_risk_per_trade_is_accepted():
    # 2 MES from 5,006: a stop at 4,996 loses 10 pts x $5 x 2 = $100, exactly the limit
    verdict = check_level_move(long_stop(4996.0), CFG, MES)
    assert verdict.accepted and verdict.widens and verdict.price == 4996.0


def test_widening_a_stop_beyond_risk_per_trade_is_refused_with_the_rule():
    verdict = check_level_move(long_stop(4995.75), CFG, MES)
    assert not verdict.accepted
    assert "would lose $102.50 on 2 contract(s)" in verdict.message
    assert "risk.risk_per_trade_usd $100.00" in verdict.message


def test_the_disaster_stop_caps_a_widened_stop_when_smaller():
    cfg = RiskConfig(risk_per_trade_usd=1000.0, disaster_stop_usd=50.0)
    assert stop_loss_limit_cents(cfg) == 5000
    # from a stop at 5,003, 2 MES entered at 5,006: 5,001 loses $50, 5,000.75 loses $52.50
    accepted = check_level_move(long_stop(5001.0, current=5003.0), cfg, MES)
    assert accepted.accepted and accepted.widens
    refused = check_level_move(long_stop(5000.75, current=5003.0), cfg, MES)
    assert not refused.accepted and "disaster stop $50.00" in refused.message


def test_the_daily_loss_left_caps_a_widened_stop():
    move = long_stop(4998.0)  # 2 MES from 5,006: loses $80 if filled, within $100 per trade
    assert check_level_move(move, CFG, MES).accepted
    tight_day = replace(move, daily_loss_left_cents=5000)
    verdict = check_level_move(tight_day, CFG, MES)
    assert not verdict.accepted and "daily loss left $50.00" in verdict.message
    spent = replace(move, requested_price=5001.0, current_price=5004.0,
                    daily_loss_left_cents=-2000)
    assert not check_level_move(spent, CFG, MES).accepted  # budget gone: no widening below entry
    tighten = replace(move, requested_price=5002.0, daily_loss_left_cents=-2000)
    assert check_level_move(tighten, CFG, MES).accepted  # tightening stays allowed


def test_short_stop_must_be_above_the_market_and_target_below():
    stop = LevelMove(LevelKind.STOP, Side.SHORT, 1, 5004.0, 5010.25, 5012.25, 5009.0)
    assert check_level_move(stop, CFG, MES).message == (
        "stop 5,009.00 is below the market 5,010.25 for a short")
    target = LevelMove(LevelKind.TARGET, Side.SHORT, 1, 5004.0, 5010.25, 4995.0, 5011.0)
    assert check_level_move(target, CFG, MES).message == (
        "target 5,011.00 is above the market 5,010.25 for a short")


def test_widening_a_target_adds_no_loss_and_is_accepted_within_the_band():
    target = LevelMove(LevelKind.TARGET, Side.LONG, 2, 5006.0, 5010.25, 5015.0, 5060.0)
    verdict = check_level_move(target, CFG, MES)
    assert verdict.accepted and verdict.widens


def test_a_level_beyond_the_fat_finger_band_is_refused():
    target = LevelMove(LevelKind.TARGET, Side.LONG, 2, 5006.0, 5010.25, 5015.0, 5600.0)
    verdict = check_level_move(target, CFG, MES)
    assert not verdict.accepted and "within 5% of it" in verdict.message


@pytest.mark.parametrize("price", [math.nan, math.inf, -math.inf, "5010", None, True])
def test_non_finite_or_non_numeric_prices_are_refused(price):
    verdict = check_level_move(long_stop(price), CFG, MES)  # type: ignore[arg-type]
    assert not verdict.accepted and "is not a finite number" in verdict.message


def test_off_tick_price_is_refused_naming_the_neighbours_and_float_noise_is_snapped():
    verdict = check_level_move(long_stop(5001.1), CFG, MES)
    assert not verdict.accepted
    assert "not on the 0.25 tick of MES (nearest 5,001.00 or 5,001.25)" in verdict.message
    snapped = check_level_move(long_stop(5001.250000000001), CFG, MES)
    assert snapped.accepted and snapped.price == 5001.25


def test_unchanged_level_is_refused():
    assert "already at 5,000.00" in check_level_move(long_stop(5000.0), CFG, MES).message


TINY = RiskConfig(risk_per_trade_usd=0.01, disaster_stop_usd=0.01)
ticks = st.integers(4000 * 4, 7000 * 4)
sides = st.sampled_from([Side.LONG, Side.SHORT])


@settings(max_examples=150, deadline=None)
@given(side=sides, kind=st.sampled_from(list(LevelKind)), entry=ticks, market=ticks,
       current=st.one_of(st.none(), ticks), requested=ticks, contracts=st.integers(1, 10),
       risk_usd=st.floats(5, 2000), disaster_usd=st.floats(5, 2000),
       daily_left=st.one_of(st.none(), st.integers(-50_000, 200_000)))
def test_every_accepted_move_is_on_tick_on_its_side_and_within_limits(
        side, kind, entry, market, current, requested, contracts, risk_usd, disaster_usd,
        daily_left):
    move = LevelMove(kind, side, contracts, entry / 4, market / 4,
                     None if current is None else current / 4, requested / 4, daily_left)
    cfg = RiskConfig(risk_per_trade_usd=risk_usd, disaster_stop_usd=disaster_usd)
    verdict = check_level_move(move, cfg, MES)
    if not verdict.accepted:
        assert verdict.price is None and verdict.message
        return
    price = verdict.price
    assert price is not None and on_tick(price, MES.tick_size) == price
    beyond = (price - move.market_price) * side.sign
    assert beyond > 0 if kind is LevelKind.TARGET else beyond < 0
    assert abs(price - move.market_price) <= FAT_FINGER_BAND_FRACTION * move.market_price
    if kind is LevelKind.STOP and verdict.widens:
        loss = -MES.pnl_cents(side, move.entry_price, price, contracts)
        assert loss <= stop_loss_limit_cents(cfg)
        assert daily_left is None or loss <= max(daily_left, 0)


@settings(max_examples=150, deadline=None)
@given(side=sides, entry=ticks, market=ticks, current=ticks, requested=ticks,
       contracts=st.integers(1, 10))
def test_tightening_a_stop_on_the_right_side_is_always_accepted_widening_never_beyond(
        side, entry, market, current, requested, contracts):
    move = LevelMove(LevelKind.STOP, side, contracts, entry / 4, market / 4, current / 4,
                     requested / 4)
    tighter = (move.requested_price - move.current_price) * side.sign > 0
    right_side = (move.requested_price - move.market_price) * side.sign < 0
    in_band = abs(move.requested_price - move.market_price) <= 0.05 * move.market_price
    no_loss = MES.pnl_cents(side, move.entry_price, move.requested_price, contracts) >= 0
    verdict = check_level_move(move, TINY, MES)  # widening only where it can lose nothing
    moved = move.requested_price != move.current_price
    assert verdict.accepted == (moved and right_side and in_band and (tighter or no_loss))
