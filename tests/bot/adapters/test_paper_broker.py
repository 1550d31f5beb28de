"""Paper fills (DESIGN §4a): next-bar entry, gaps, both-touched, trailing, exits, P&L."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.paper_broker import PaperBroker
from shared.domain.errors import BrokerError
from shared.domain.instruments import get_instrument
from shared.domain.models import (
    Bar,
    ExitReason,
    OrderPlan,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
)

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
STEP = timedelta(seconds=5)


def bar(i: int, o: float, h: float, low: float, c: float) -> Bar:
    return Bar(T0 + i * STEP, o, h, low, c, 100)


def make_plan(side=Side.LONG, contracts=1, entry=5000.0, stop_pts=10.0, target_pts=15.0,
              entry_type=OrderType.MARKET, symbol="MES") -> OrderPlan:
    return OrderPlan(symbol, side, contracts, entry_type, entry, entry - side.sign * stop_pts,
                     entry + side.sign * target_pts, stop_pts, target_pts, "test")


def broker(symbol="MES", commission_cents=62, slippage_ticks=0) -> PaperBroker:
    return PaperBroker(get_instrument(symbol), commission_cents, slippage_ticks)


def submit(b: PaperBroker, plan: OrderPlan | None = None) -> None:
    b.place_bracket(plan or make_plan(), "B1", T0)
    b.drain_updates()


def test_bracket_submits_entry_stop_and_target_together():
    b = broker()
    b.place_bracket(make_plan(), "B1", T0)
    updates = b.drain_updates()
    roles = [(e.order.role, e.order.order_type, e.order.price) for e in updates.orders]
    assert roles == [
        (OrderRole.ENTRY, OrderType.MARKET, None),
        (OrderRole.STOP, OrderType.STOP, 4990.0),
        (OrderRole.TARGET, OrderType.LIMIT, 5015.0),
    ]
    assert b.position() is None and b.has_pending_entry()


def test_entry_fills_at_next_bar_open_plus_slippage_never_in_signal_bar():
    b = broker(slippage_ticks=1)
    submit(b)
    b.on_bar(bar(1, 5001.0, 5002.0, 5000.0, 5001.5))
    updates = b.drain_updates()
    assert [f.price for f in updates.fills] == [5001.25]
    position = b.position()
    assert position.entry_price == 5001.25 and position.entry_ts == T0 + STEP
    assert position.stop_price == 4990.0  # levels fixed at decision time


def test_stop_fills_intrabar_with_slippage():
    b = broker(slippage_ticks=1)
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.on_bar(bar(2, 4995.0, 4996.0, 4989.0, 4992.0))
    trade = b.drain_updates().trades[0]
    assert trade.exit_reason is ExitReason.STOP
    assert trade.exit_price == 4989.75
    assert b.position() is None and b.working_orders() == []


def test_target_fills_at_its_limit_without_slippage():
    b = broker(slippage_ticks=1)
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.on_bar(bar(2, 5010.0, 5016.0, 5009.0, 5014.0))
    trade = b.drain_updates().trades[0]
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.TARGET, 5015.0)


def test_stop_and_target_live_from_the_entry_bar():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000.0, 5000.5, 4989.0, 4990.0))
    trade = b.drain_updates().trades[0]
    assert trade.exit_reason is ExitReason.STOP and trade.entry_ts == trade.exit_ts


def test_both_touched_in_one_bar_the_stop_wins():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.on_bar(bar(2, 5000.0, 5020.0, 4980.0, 5000.0))
    assert b.drain_updates().trades[0].exit_reason is ExitReason.STOP


def test_gap_through_the_stop_fills_at_the_open():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.on_bar(bar(2, 4985.0, 4987.0, 4984.0, 4986.0))
    trade = b.drain_updates().trades[0]
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.STOP, 4985.0)


def test_gap_through_the_target_fills_at_the_better_open():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.on_bar(bar(2, 5020.0, 5021.0, 5019.0, 5020.0))
    trade = b.drain_updates().trades[0]
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.TARGET, 5020.0)


def test_short_bracket_mirrors():
    b = broker()
    submit(b, make_plan(Side.SHORT))
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.on_bar(bar(2, 5000.0, 5010.5, 4999.0, 5005.0))
    trade = b.drain_updates().trades[0]
    assert (trade.side, trade.exit_reason, trade.exit_price) == (Side.SHORT, ExitReason.STOP,
                                                                   5010.0)
    assert trade.pnl_gross_cents == -5000


def test_trailing_stop_move_then_fill_is_labelled_trailing():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.move_stop(4998.0, T0 + 2 * STEP, ExitReason.TRAILING_STOP)
    assert b.position().stop_price == 4998.0
    b.on_bar(bar(2, 5003.0, 5003.0, 4997.0, 4998.0))
    trade = b.drain_updates().trades[0]
    assert (trade.exit_reason, trade.exit_price) == (ExitReason.TRAILING_STOP, 4998.0)


@pytest.mark.parametrize("reason", [ExitReason.TIME_EXIT, ExitReason.DISASTER_STOP,
                                    ExitReason.FLATTEN])
def test_market_exit_fills_at_next_open_and_cancels_the_bracket(reason):
    b = broker(slippage_ticks=1)
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    b.close_position(reason, T0 + 2 * STEP)
    b.close_position(reason, T0 + 2 * STEP)  # idempotent: one exit order
    b.on_bar(bar(2, 4995.0, 4996.0, 4989.0, 4990.0))
    updates = b.drain_updates()
    assert [t.exit_reason for t in updates.trades] == [reason]
    assert updates.trades[0].exit_price == 4994.75
    statuses = {e.order.role: e.order.status for e in updates.orders}
    assert statuses[OrderRole.STOP] is OrderStatus.CANCELLED
    assert b.working_orders() == []


def test_flatten_before_the_entry_fills_cancels_everything():
    b = broker()
    submit(b)
    b.close_position(ExitReason.FLATTEN, T0)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    assert b.position() is None and b.working_orders() == [] and b.drain_updates().fills == []


def test_limit_entry_fills_when_touched_and_expires_otherwise():
    b = broker()
    submit(b, make_plan(entry=4999.0, entry_type=OrderType.LIMIT))
    b.on_bar(bar(1, 5000.0, 5001.0, 4998.5, 5000.0))
    assert b.position().entry_price == 4999.0
    b2 = broker()
    submit(b2, make_plan(entry=4999.0, entry_type=OrderType.LIMIT))
    b2.on_bar(bar(1, 5000.0, 5001.0, 4999.25, 5000.0))
    assert b2.position() is None and b2.working_orders() == []


@pytest.mark.parametrize(
    ("symbol", "commission", "exit_price", "gross", "net"),
    [
        ("MES", 62, 5015.0, 2 * 15 * 5 * 100, 15000 - 4 * 62),
        ("MES", 62, 4990.0, -2 * 10 * 5 * 100, -10000 - 4 * 62),
        ("ES", 225, 5015.0, 2 * 15 * 50 * 100, 150000 - 4 * 225),
        ("ES", 225, 4990.0, -2 * 10 * 50 * 100, -100000 - 4 * 225),
    ],
)
def test_pnl_gross_commission_and_net(symbol, commission, exit_price, gross, net):
    b = broker(symbol, commission)
    submit(b, make_plan(contracts=2, symbol=symbol))
    b.on_bar(bar(1, 5000.0, 5000.0, 5000.0, 5000.0))
    b.on_bar(bar(2, 5000.0, max(5000.0, exit_price), min(5000.0, exit_price), exit_price))
    trade = b.drain_updates().trades[0]
    assert (trade.pnl_gross_cents, trade.commission_cents, trade.pnl_net_cents) == (
        gross, 4 * commission, net
    )


def test_restored_broker_keeps_its_stop_working():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    restored = PaperBroker(get_instrument("MES"), 62, 0, b.working_orders(), b.position())
    restored.on_bar(bar(2, 4995.0, 4996.0, 4989.0, 4992.0))
    assert restored.drain_updates().trades[0].exit_reason is ExitReason.STOP


def test_missing_stop_is_re_placed_once():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0))
    orders = [o for o in b.working_orders() if o.role is not OrderRole.STOP]
    restored = PaperBroker(get_instrument("MES"), 62, 0, orders, b.position())
    assert restored.ensure_protective_stop(4980.0, T0) is True
    assert restored.ensure_protective_stop(4980.0, T0) is False
    stops = [o for o in restored.working_orders() if o.role is OrderRole.STOP]
    assert [s.price for s in stops] == [4990.0]


def test_second_bracket_and_wrong_side_levels_are_refused():
    b = broker()
    submit(b)
    with pytest.raises(BrokerError, match="already open"):
        b.place_bracket(make_plan(), "B2", T0)
    bad = OrderPlan("MES", Side.LONG, 1, OrderType.MARKET, 5000.0, 5010.0, 5015.0, 10, 15, "bad")
    with pytest.raises(BrokerError, match="wrong side"):
        broker().place_bracket(bad, "B3", T0)


def test_a_moved_target_fills_at_its_new_level_and_the_old_one_is_gone():
    b = broker()
    submit(b)
    b.on_bar(bar(1, 5000, 5001, 4999, 5000))  # entry at 5000; target 5015
    b.drain_updates()
    b.move_target(5008.0, T0 + 2 * STEP)
    event = b.drain_updates().orders[-1]
    assert (event.order.role, event.order.price, event.detail) == (
        OrderRole.TARGET, 5008.0, "target moved to 5008")
    assert b.position().target_price == 5008.0
    b.on_bar(bar(2, 5004, 5009, 5003, 5006))  # touches 5008, not the old 5015
    (trade,) = b.drain_updates().trades
    assert (trade.exit_price, trade.exit_reason) == (5008.0, ExitReason.TARGET)


def test_move_target_without_a_position_is_a_broker_error():
    b = broker()
    submit(b)
    with pytest.raises(BrokerError, match="no working target"):
        b.move_target(5008.0, T0)


def test_cancel_entry_cancels_the_unfilled_bracket_only():
    b = broker()
    submit(b)
    assert b.cancel_entry(T0 + STEP)
    assert [e.order.status for e in b.drain_updates().orders] == [OrderStatus.CANCELLED] * 3
    b.on_bar(bar(1, 5000, 5001, 4999, 5000))
    assert b.position() is None and not b.drain_updates().fills
    assert not b.cancel_entry(T0 + 2 * STEP), "nothing left to cancel"
    submit(b)
    b.on_bar(bar(2, 5000, 5001, 4999, 5000))
    assert not b.cancel_entry(T0 + 3 * STEP), "a filled entry is not cancelled"
    assert b.position() is not None and len(b.working_orders()) == 2
