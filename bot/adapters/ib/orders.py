"""Build the ib_async orders for our brackets, re-placed stops and market exits.

A bracket is a parent entry plus a target limit and a stop, linked by ``parentId`` and one OCA
group; only the last child transmits, so IB holds the whole group until it is complete. Exit
orders (children, re-placed stops, flatten) carry ``outsideRth`` so they work overnight, and
our own id rides in ``orderRef``.
"""

from __future__ import annotations

from datetime import datetime

from ib_async import LimitOrder, MarketOrder, Order, StopOrder, Trade

from bot.adapters.ib.book import ROLE_EXIT_REASON
from bot.adapters.ib.mapping import EXEC_SIDE, ORDER_ACTION
from shared.domain import models
from shared.domain.models import ExitReason, OrderPlan, OrderRole, OrderStatus, OrderType, Side

OCA_CANCEL_WITH_BLOCK = 1


def oca_group(bracket_id: str) -> str:
    """The OCA group tying a bracket's exits together."""
    return f"{bracket_id}-oca"


def _exit_common(order: Order, bracket_id: str, order_ref: str, order_id: int,
                 account: str) -> Order:
    order.orderId = order_id
    order.orderRef = order_ref
    order.outsideRth = True
    order.tif = "GTC"
    order.ocaGroup = oca_group(bracket_id)
    order.ocaType = OCA_CANCEL_WITH_BLOCK
    order.account = account
    return order


def bracket_orders(
    plan: OrderPlan, bracket_id: str, order_ids: tuple[int, int, int], account: str
) -> list[Order]:
    """Entry, target and stop for ``plan``; only the stop (sent last) has transmit=True."""
    entry_id, target_id, stop_id = order_ids
    action = ORDER_ACTION[plan.side]
    exit_action = ORDER_ACTION[plan.side.opposite]
    if plan.entry_type is OrderType.LIMIT:
        entry: Order = LimitOrder(action, plan.contracts, plan.entry_price)
    else:
        entry = MarketOrder(action, plan.contracts)
    entry.orderId = entry_id
    entry.orderRef = f"{bracket_id}-entry"
    entry.transmit = False
    entry.account = account
    target = _exit_common(LimitOrder(exit_action, plan.contracts, plan.target_price),
                          bracket_id, f"{bracket_id}-target", target_id, account)
    stop = _exit_common(StopOrder(exit_action, plan.contracts, plan.stop_price),
                        bracket_id, f"{bracket_id}-stop", stop_id, account)
    for child in (target, stop):
        child.parentId = entry_id
    target.transmit = False
    stop.transmit = True
    return [entry, target, stop]


def stop_order(side: Side, contracts: int, price: float, bracket_id: str, order_ref: str,
               order_id: int, account: str) -> Order:
    """A standalone protective stop for a position of ``side`` (joins the bracket's OCA)."""
    order = StopOrder(ORDER_ACTION[side.opposite], contracts, price)
    return _exit_common(order, bracket_id, order_ref, order_id, account)


def exit_order(side: Side, contracts: int, bracket_id: str, order_ref: str, order_id: int,
               account: str) -> Order:
    """A market exit for a position of ``side``; its fill cancels the stop and target (OCA)."""
    order = MarketOrder(ORDER_ACTION[side.opposite], contracts)
    return _exit_common(order, bracket_id, order_ref, order_id, account)


def our_bracket(plan: OrderPlan, bracket_id: str, ts: datetime) -> list[models.Order]:
    """Our records of a bracket's entry, target and stop (ids are the IB orderRefs)."""
    legs = (
        (OrderRole.ENTRY, plan.entry_type, plan.side,
         plan.entry_price if plan.entry_type is OrderType.LIMIT else None, None),
        (OrderRole.TARGET, OrderType.LIMIT, plan.side.opposite, plan.target_price,
         ExitReason.TARGET),
        (OrderRole.STOP, OrderType.STOP, plan.side.opposite, plan.stop_price, ExitReason.STOP),
    )
    return [
        models.Order(f"{bracket_id}-{role.value}", bracket_id, plan.symbol, side, role, kind,
                     plan.contracts, price, OrderStatus.WORKING, ts, exit_reason=reason)
        for role, kind, side, price, reason in legs
    ]


IB_ORDER_TYPES = {"MKT": OrderType.MARKET, "LMT": OrderType.LIMIT, "STP": OrderType.STOP}


def order_from_ib(ref: str, bracket_id: str, symbol: str, role: OrderRole, trade: Trade | None,
                  ts: datetime, fallback_side: Side | None) -> models.Order:
    """Our record of an IB order that carries one of our refs (adopted after a crash)."""
    side, kind, price, contracts = fallback_side or Side.LONG, OrderType.MARKET, None, 1
    if trade is not None:
        ib_order = trade.order
        side = EXEC_SIDE["BOT" if ib_order.action == "BUY" else "SLD"]
        kind = IB_ORDER_TYPES.get(ib_order.orderType, OrderType.MARKET)
        price = {OrderType.LIMIT: ib_order.lmtPrice, OrderType.STOP: ib_order.auxPrice}.get(kind)
        contracts = int(ib_order.totalQuantity)
    return models.Order(ref, bracket_id, symbol, side, role, kind, contracts, price,
                        OrderStatus.WORKING, ts, exit_reason=ROLE_EXIT_REASON[role])
