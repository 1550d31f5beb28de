"""``bracket_exits`` equals the paper broker, fill for fill, on every way a bracket can close."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from bot.adapters.paper_broker import PaperBroker
from bot.backtest import bracket_fills
from bot.backtest.bracket_fills import bracket_exits, entry_prices
from shared.domain.instruments import get_instrument
from shared.domain.models import ExitReason, OrderPlan, OrderType, Side
from tests.bot.backtest.conftest import bar_data, minute_bars

pytestmark = pytest.mark.unit

MES = get_instrument("MES")


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
    for bar in bars[signal + 1 :]:
        broker.on_bar(bar)
        trades = broker.drain_updates().trades
        if trades:
            return trades[0], bar
    return broker.position(), None


@pytest.mark.parametrize(("commission", "slippage", "contracts", "cells"),
                         [(0, 0, 1, None), (62, 2, 3, None), (0, 1, 1, 48)])
def test_every_close_equals_the_paper_broker(commission, slippage, contracts, cells, monkeypatch):
    if cells is not None:  # blocks of a few brackets at a time, as a long run's are
        monkeypatch.setattr(bracket_fills, "_CELLS", cells)
    bars = gapped_minute_bars(3000, seed=5)
    data = bar_data(bars)
    pick = random.Random(3)
    signals, sides, stops, targets = [], [], [], []
    for signal in range(0, len(bars) - 1, 7):
        side = pick.choice((Side.LONG, Side.SHORT))
        reference = bars[signal].close
        signals.append(signal)
        sides.append(side)
        stops.append(reference - side.sign * pick.randint(1, 12) * MES.tick_size)
        targets.append(reference + side.sign * pick.randint(1, 60) * MES.tick_size)
    signs = np.array([side.sign for side in sides])
    slippage_points = slippage * MES.tick_size
    exits = bracket_exits(data, np.array(signals) + 1, signs, np.array(stops),
                          np.array(targets), slippage_points)
    entries = entry_prices(data, np.array(signals) + 1, signs, slippage_points)
    kinds = set()
    for k, signal in enumerate(signals):
        expected, at = broker_round_trip(bars, signal, sides[k], stops[k], targets[k],
                                         commission, slippage, contracts)
        if at is None:
            assert expected.entry_price == entries[k]
            assert exits.bar[k] == len(bars) and exits.price[k] == entries[k]
            kinds.add("still open")
            continue
        assert expected.entry_price == entries[k]
        assert (exits.bar[k], exits.price[k]) == (bars.index(at), expected.exit_price)
        assert exits.stopped[k] == (expected.exit_reason is ExitReason.STOP)
        level = stops[k] if exits.stopped[k] else targets[k]
        slipped = level - sides[k].sign * slippage_points if exits.stopped[k] else level
        kinds.add(("stop" if exits.stopped[k] else "target",
                   "at the level" if expected.exit_price == slipped else "at the open",
                   "entry bar" if at is bars[signal + 1] else "later"))
    assert kinds == {(reason, where, when) for reason in ("stop", "target")
                     for where in ("at the open", "at the level")
                     for when in ("entry bar", "later")} | {"still open"}


def broker_rsi_macd_bracket(data, params, commission, slippage, contracts):
    """rsi_macd_bracket bar by bar through the paper broker (as the runner did before)."""
    from bot.core.bracket_ids import bracket_id_for
    from bot.core.strategies.rsi_macd_bracket import signals

    broker = PaperBroker(MES, commission, slippage, record_orders=False)
    direction, stop_ticks = signals(data.high, data.low, data.close, params, MES.tick_size)
    trades, minute = [], timedelta(seconds=data.bar_seconds)
    index = 0
    while index + 1 < len(data):
        if broker.position() is None and direction[index]:
            side = Side.LONG if direction[index] > 0 else Side.SHORT
            stop_points = int(stop_ticks[index]) * MES.tick_size
            target_points = MES.round_to_tick(params.target_ratio * stop_points)
            reference = float(data.close[index])
            plan = OrderPlan(MES.symbol, side, contracts, OrderType.MARKET, reference,
                             reference - side.sign * stop_points,
                             reference + side.sign * target_points, stop_points,
                             target_points, "test")
            broker.place_bracket(plan, bracket_id_for(MES.symbol, data.ts(index) + minute),
                                 data.ts(index) + minute)
        index += 1
        broker.on_bar(data.bar(index))
        trades += broker.drain_updates().trades
    return trades, broker.position()


def test_the_reference_run_equals_the_broker_with_costs_and_contracts():
    from bot.backtest import reference
    from bot.core.strategies.rsi_macd_bracket import RsiMacdBracketParams

    data = bar_data(gapped_minute_bars(5000, seed=9))
    params = RsiMacdBracketParams()
    outcome = reference.run_rsi_macd_bracket(data, params, MES, 62, 2, 3)
    trades, position = broker_rsi_macd_bracket(data, params, 62, 2, 3)
    assert len(trades) > 50
    assert list(outcome.trades) == trades
    assert outcome.open_position == position
