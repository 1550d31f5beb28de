"""Reconcile the book with IB after every (re)connect: IB is the source of truth.

Executions we missed are booked (by execId, never twice); open orders carrying our refs are
adopted, others flagged; our working orders IB no longer has are closed, and an entry whose
outcome is unknown is never resubmitted; the position is compared with IB's and adopted or
dropped on a mismatch. A missing protective stop is re-placed afterwards by the engine.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.adapters.ib.broker import IbBroker
from bot.adapters.ib.mapping import parse_order_ref
from shared.domain.models import OrderRole, OrderStatus, Position, Side

logger = logging.getLogger(__name__)


def reconcile_with_ib(broker: IbBroker, flagged_perm_ids: set[int]) -> None:
    """Bring the book in line with what IB reports right after a connect."""
    ib, contract, book = broker.ib, broker.contract, broker.book
    if ib is None or contract is None:
        return
    broker.sync()
    now = broker.now()
    open_refs: set[str] = set()
    for trade in ib.openTrades():
        ref = trade.order.orderRef
        parsed = parse_order_ref(ref, broker.instrument.symbol)
        if parsed is None or trade.contract.conId != contract.conId:
            if trade.order.permId not in flagged_perm_ids:
                flagged_perm_ids.add(trade.order.permId)
                book.notice("foreign_order", "warning",
                            f"open order {trade.order.action} {trade.order.totalQuantity:g} "
                            f"{trade.contract.localSymbol} {trade.order.orderType} (ref "
                            f"{ref!r}, permId {trade.order.permId}) was not placed by this bot; "
                            "left alone", perm_id=trade.order.permId)
            continue
        open_refs.add(ref)
        broker.trades[ref] = trade
        if ref not in book.orders:
            order = broker.order_from_ib(ref, parsed.bracket_id, parsed.role, trade, now)
            book.set(order, now, f"adopted from IB (orderId {trade.order.orderId}, permId "
                                 f"{trade.order.permId})")
            book.notice("order_adopted", "warning", f"adopted working order {ref} from IB",
                        order_ref=ref)
            if not broker.ids.known(ref):
                broker.ids.record([(ref, trade.order.orderId)], contract.conId, now)
        if trade.order.permId:
            broker.ids.note_perm_id(ref, trade.order.permId, now)
    for ref, order in list(book.orders.items()):
        if ref in open_refs:
            continue
        book.close_order(ref, OrderStatus.CANCELLED, now,
                         "cancelled: not working at IB after reconnect, no execution found")
        if order.role is OrderRole.ENTRY:
            book.notice("entry_outcome_unknown", "incident",
                        f"entry {ref} is not working at IB and has no execution; it is not "
                        "resubmitted", order_ref=ref)
    _check_position(broker)


def _check_position(broker: IbBroker) -> None:
    ib, contract, book = broker.ib, broker.contract, broker.book
    if ib is None or contract is None:
        return
    held = [p for p in ib.positions() if p.contract.conId == contract.conId]
    ib_qty = int(sum(p.position for p in held))
    ours = book.position
    our_qty = 0 if ours is None else ours.contracts * ours.side.sign
    if ib_qty == our_qty:
        return
    now = broker.now()
    if ib_qty == 0:
        book.drop_position(now, f"IB holds no {contract.localSymbol} position; the journal had "
                                f"{our_qty:+d} (closed outside the bot?)")
        return
    side = Side.LONG if ib_qty > 0 else Side.SHORT
    multiplier = float(contract.multiplier or broker.instrument.point_value_usd)
    avg_price = broker.instrument.round_to_tick(held[0].avgCost / multiplier)
    stop = book.working(OrderRole.STOP)
    target = book.working(OrderRole.TARGET)
    if ours is not None and ours.side is side:
        position = replace(ours, contracts=abs(ib_qty))
    else:
        exit_order = stop or target
        bracket_id = exit_order.bracket_id if exit_order else (
            f"{broker.instrument.symbol}-adopted-{now:%Y%m%dT%H%M%S}")
        position = Position(
            symbol=broker.instrument.symbol, side=side, contracts=abs(ib_qty),
            entry_price=avg_price, entry_ts=now, bracket_id=bracket_id,
            stop_price=stop.price if stop else None,
            target_price=target.price if target else None,
        )
    book.adopt_position(position)
    book.notice("position_adopted", "incident",
                f"IB holds {ib_qty:+d} {contract.localSymbol} at {avg_price:g}; the journal had "
                f"{our_qty:+d}: adopted IB's position", bracket_id=position.bracket_id)
