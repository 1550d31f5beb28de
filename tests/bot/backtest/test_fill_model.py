"""Fill-model cases tests/bot/test_paper_broker.py does not cover, and costs in a backtest run.

Covered there already: next-bar entry with slippage, intrabar stop with slippage, target
without, both touched (long), gaps through stop and target at the open, P&L with commission.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.adapters.paper_broker import PaperBroker
from bot.backtest import reference
from bot.core.strategies.sma_cross import SmaCrossParams
from shared.domain.instruments import get_instrument
from shared.domain.models import Bar, ExitReason, OrderPlan, OrderRole, OrderType, Side
from tests.bot.backtest.conftest import bar_data

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
MES = get_instrument("MES")


def bar(i: int, o: float, h: float, low: float, c: float) -> Bar:
    return Bar(T0 + timedelta(minutes=i), o, h, low, c, 10)


def entered(side: Side, contracts: int = 1, slippage: int = 0, commission: int = 62):
    broker = PaperBroker(MES, commission, slippage)
    sign = side.sign
    plan = OrderPlan("MES", side, contracts, OrderType.MARKET, 5000.0, 5000.0 - sign * 10,
                     5000.0 + sign * 15, 10, 15, "test")
    broker.place_bracket(plan, "B1", T0)
    broker.on_bar(bar(1, 5000.0, 5000.25, 4999.75, 5000.0))
    return broker


def test_gap_through_the_stop_fills_at_the_open_minus_slippage():
    broker = entered(Side.LONG, slippage=2)
    broker.on_bar(bar(2, 4980.0, 4982.0, 4979.0, 4981.0))
    trade = broker.drain_updates().trades[0]
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.STOP, 4979.5)


def test_short_both_touched_in_one_bar_the_stop_wins_with_slippage():
    broker = entered(Side.SHORT, slippage=1)
    broker.on_bar(bar(2, 5000.0, 5011.0, 4984.0, 5000.0))
    trade = broker.drain_updates().trades[0]
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.STOP, 5010.25)
    assert trade.pnl_gross_cents == -42 * 125  # sold at 4999.75, bought back at 5010.25


def test_short_gap_through_the_target_fills_at_the_better_open_without_slippage():
    broker = entered(Side.SHORT, slippage=1)
    broker.on_bar(bar(2, 4980.0, 4981.0, 4979.0, 4980.0))
    trade = broker.drain_updates().trades[0]
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.TARGET, 4980.0)


def test_both_touched_on_the_entry_bar_itself_the_stop_wins():
    broker = PaperBroker(MES, 62, 0)
    plan = OrderPlan("MES", Side.LONG, 1, OrderType.MARKET, 5000.0, 4990.0, 5015.0, 10, 15, "t")
    broker.place_bracket(plan, "B1", T0)
    broker.on_bar(bar(1, 5000.0, 5016.0, 4989.0, 5000.0))
    trade = broker.drain_updates().trades[0]
    assert (trade.entry_price, trade.exit_reason, trade.exit_price) == (
        5000.0, ExitReason.STOP, 4990.0)


def test_commission_is_per_contract_per_side_on_every_fill():
    broker = entered(Side.LONG, contracts=3, commission=225)
    entry_fills = broker.drain_updates().fills
    assert [(f.role, f.commission_cents) for f in entry_fills] == [(OrderRole.ENTRY, 3 * 225)]
    broker.on_bar(bar(2, 5010.0, 5016.0, 5009.0, 5015.0))
    exit_updates = broker.drain_updates()
    fills = exit_updates.fills
    assert fills[0].role is OrderRole.TARGET and fills[0].commission_cents == 3 * 225
    trade = exit_updates.trades[0]
    assert trade.commission_cents == 2 * 3 * 225
    assert trade.pnl_net_cents == 3 * 60 * 125 - 6 * 225
    assert broker.position() is None


def test_a_backtest_reversal_pays_slippage_and_commission_on_both_orders():
    closes = ([5000.0] * 10 + [5001.0 + i for i in range(10)] + [5009.0 - i for i in range(10)]
              + [5000.0 + i for i in range(10)])
    bars = [bar(i, c, c + 0.5, c - 0.5, c) for i, c in enumerate(closes)]
    bars = [Bar(b.ts, b.close, b.high, b.low, b.close, b.volume) for b in bars]
    outcome = reference.run_sma_cross(bar_data(bars), SmaCrossParams(fast=3, slow=6), MES,
                                      commission_cents=62, slippage_ticks=1, contracts=2)
    (first,) = outcome.trades  # up (no cross yet), down: short, up again: reverse to long
    assert first.side is Side.SHORT and first.exit_reason is ExitReason.FLATTEN
    reversal_open = next(b.open for b in bars if b.ts == first.exit_ts)
    assert first.exit_price == reversal_open + 0.25  # the exit buys a tick higher
    second = outcome.open_position
    assert second is not None and second.side is Side.LONG
    assert second.entry_ts == first.exit_ts and second.entry_price == reversal_open + 0.25
    assert first.commission_cents == 2 * 2 * 62
    assert first.pnl_net_cents == first.pnl_gross_cents - 248
