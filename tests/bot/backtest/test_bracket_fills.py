"""``BracketFills`` equals the paper broker, fill for fill, on every way a bracket can close."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.adapters.paper_broker import PaperBroker
from bot.backtest.bracket_fills import BracketFills
from shared.domain.errors import BrokerError
from shared.domain.instruments import get_instrument
from shared.domain.models import OrderPlan, OrderType, Side
from tests.bot.backtest.conftest import bar_data, minute_bars

pytestmark = pytest.mark.unit

MES = get_instrument("MES")
HOLD_BARS = 40


def gapped_minute_bars(count: int, seed: int) -> list:
    """Synthetic minutes with a price gap (a jump of up to 16 ticks) every 11 bars, so that
    bars open beyond a stop or a target, as well as touching them inside their range."""
    pick, shift, bars = random.Random(seed), 0.0, []
    for index, bar in enumerate(minute_bars(count, seed=seed)):
        if index % 11 == 0:
            shift += pick.randint(-16, 16) * MES.tick_size
        bars.append(replace(bar, open=bar.open + shift, high=bar.high + shift,
                            low=bar.low + shift, close=bar.close + shift))
    return bars


def broker_round_trip(bars, signal, side, stop, target, commission, slippage, contracts):
    """The broker's trade (or open position) for a market bracket decided at ``signal``."""
    broker = PaperBroker(MES, commission, slippage, record_orders=False)
    reference = bars[signal].close
    plan = OrderPlan(MES.symbol, side, contracts, OrderType.MARKET, reference, stop, target,
                     abs(reference - stop), abs(target - reference), "test")
    broker.place_bracket(plan, f"b{signal}", bars[signal].ts + timedelta(minutes=1))
    for bar in bars[signal + 1 : signal + 1 + HOLD_BARS]:
        broker.on_bar(bar)
        trades = broker.drain_updates().trades
        if trades:
            return trades[0], bar
    return broker.position(), None


def fills_round_trip(fills, data, signal, side, stop, target):
    bracket = fills.enter(f"b{signal}", side, signal + 1, stop, target)
    for bar in range(signal + 1, min(signal + 1 + HOLD_BARS, len(data))):
        trade = fills.exit_on(bracket, bar)
        if trade is not None:
            return trade, bar
    return fills.position(bracket), None


@pytest.mark.parametrize(("commission", "slippage", "contracts"), [(0, 0, 1), (62, 2, 3)])
def test_every_close_equals_the_paper_broker(commission, slippage, contracts):
    bars = gapped_minute_bars(3000, seed=5)
    data = bar_data(bars)
    fills = BracketFills(data, MES, commission, slippage, contracts)
    pick = random.Random(3)
    kinds = set()
    for signal in range(0, len(bars) - 2, 7):
        side = pick.choice((Side.LONG, Side.SHORT))
        stop_ticks, target_ticks = pick.randint(1, 12), pick.randint(1, 24)
        reference = bars[signal].close
        stop = reference - side.sign * stop_ticks * MES.tick_size
        target = reference + side.sign * target_ticks * MES.tick_size
        expected, at = broker_round_trip(bars, signal, side, stop, target, commission,
                                         slippage, contracts)
        found, found_at = fills_round_trip(fills, data, signal, side, stop, target)
        assert found == expected
        assert found_at == (None if at is None else bars.index(at))
        if at is not None:
            level = stop if expected.exit_reason.value == "stop" else target
            gap = expected.exit_price != level - (side.sign * slippage * MES.tick_size
                                                  if level == stop else 0.0)
            kinds.add((expected.exit_reason.value, "at the open" if gap else "at the level"))
    assert kinds == {("stop", "at the open"), ("stop", "at the level"),
                     ("target", "at the open"), ("target", "at the level")}


def test_a_plan_the_broker_rejects_is_rejected():
    data = bar_data(minute_bars(10))
    close = float(data.close[3])
    with pytest.raises(BrokerError):
        BracketFills(data, MES, 0, 0, 1).enter("b", Side.LONG, 4, close + 1.0, close + 2.0)
    with pytest.raises(BrokerError):
        BracketFills(data, MES, 0, 0, 0).enter("b", Side.LONG, 4, close - 1.0, close + 2.0)
