"""Our side of the IB account: working orders, the position, and the updates the engine drains.

Pure bookkeeping with no ib_async objects: executions and status changes come in as plain
values, and position, round trips and order events come out, exactly once per IB execId.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bot.ports import BrokerUpdates, OrderEvent, StreamNotice
from shared.domain.instruments import Instrument
from shared.domain.models import (
    ExitReason,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    Position,
    TradeRecord,
)

logger = logging.getLogger(__name__)

ROLE_EXIT_REASON: dict[OrderRole, ExitReason | None] = {
    OrderRole.ENTRY: None,
    OrderRole.STOP: ExitReason.STOP,
    OrderRole.TARGET: ExitReason.TARGET,
    OrderRole.EXIT: ExitReason.FLATTEN,
}


class OrderBook:
    """Working orders by our id, the open position, and pending updates and notices."""

    def __init__(self, instrument: Instrument, working_orders: list[Order],
                 position: Position | None, seen_fill_ids: set[str]) -> None:
        self.instrument = instrument
        self.orders: dict[str, Order] = {o.order_id: o for o in working_orders}
        self.position = position
        self.seen_fill_ids = set(seen_fill_ids)
        self.updates = BrokerUpdates()
        self.notices: list[StreamNotice] = []
        self._filled: dict[str, int] = {}
        self._exit_fills: list[Fill] = []

    # --- queries ----------------------------------------------------------------------------

    def working(self, role: OrderRole, bracket_id: str | None = None) -> Order | None:
        """The first working order with ``role`` (of ``bracket_id`` when given)."""
        for order in self.orders.values():
            if order.role is role and (bracket_id is None or order.bracket_id == bracket_id):
                return order
        return None

    def has_updates(self) -> bool:
        u = self.updates
        return bool(u.orders or u.fills or u.trades or u.position_changed)

    def notice(self, kind: str, severity: str, message: str, **detail: object) -> None:
        """Queue an event for the journal (and log it)."""
        log = logger.warning if severity in ("warning", "incident") else logger.info
        log("%s: %s", kind, message)
        self.notices.append(StreamNotice(kind, severity, message, dict(detail)))

    # --- changes ----------------------------------------------------------------------------

    def set(self, order: Order, ts: datetime, detail: str) -> None:
        """Record an order's new state (working orders stay in the book)."""
        if order.status is OrderStatus.WORKING:
            self.orders[order.order_id] = order
        else:
            self.orders.pop(order.order_id, None)
            self._filled.pop(order.order_id, None)
        self.updates.orders.append(OrderEvent(order, ts, detail))

    def close_order(self, order_id: str, status: OrderStatus, ts: datetime, detail: str) -> None:
        """Mark a working order cancelled or rejected (no-op when it is not working)."""
        order = self.orders.get(order_id)
        if order is not None and not self._filled.get(order_id):
            self.set(replace(order, status=status), ts, detail)

    def apply_fill(self, fill: Fill, order: Order) -> None:
        """Book one execution of ``order`` (already in the book): order, position, trade."""
        self.seen_fill_ids.add(fill.fill_id)
        self.updates.fills.append(fill)
        filled = self._filled.get(order.order_id, 0) + fill.contracts
        self._filled[order.order_id] = filled
        if filled >= order.contracts:
            self.set(replace(order, status=OrderStatus.FILLED), fill.ts,
                     f"filled at {fill.price:g} (IB exec {fill.fill_id})")
        if order.role is OrderRole.ENTRY:
            self._open_or_add(fill)
        else:
            self._reduce(fill)

    def _open_or_add(self, fill: Fill) -> None:
        p = self.position
        if p is None:
            stop = self.working(OrderRole.STOP, fill.bracket_id)
            target = self.working(OrderRole.TARGET, fill.bracket_id)
            self.position = Position(
                symbol=fill.symbol, side=fill.side, contracts=fill.contracts,
                entry_price=fill.price, entry_ts=fill.ts, bracket_id=fill.bracket_id,
                stop_price=stop.price if stop else None,
                target_price=target.price if target else None,
                entry_commission_cents=fill.commission_cents,
            )
            self._exit_fills = []
        elif p.bracket_id == fill.bracket_id and p.side is fill.side:
            total = p.contracts + fill.contracts
            price = (p.entry_price * p.contracts + fill.price * fill.contracts) / total
            self.position = replace(
                p, contracts=total, entry_price=price,
                entry_commission_cents=p.entry_commission_cents + fill.commission_cents)
        else:
            self.notice("unexpected_fill", "incident",
                        f"entry fill {fill.fill_id} for {fill.bracket_id} while {p.bracket_id} "
                        "is open", fill_id=fill.fill_id)
            return
        self.updates.position_changed = True

    def _reduce(self, fill: Fill) -> None:
        p = self.position
        if p is None or p.bracket_id != fill.bracket_id or p.side is fill.side:
            self.notice("unexpected_fill", "incident",
                        f"exit fill {fill.fill_id} of {fill.bracket_id} matches no open "
                        "position", fill_id=fill.fill_id)
            return
        self._exit_fills.append(fill)
        remaining = p.contracts - fill.contracts
        self.updates.position_changed = True
        if remaining > 0:
            self.position = replace(p, contracts=remaining)
            return
        exits = self._exit_fills
        contracts = sum(f.contracts for f in exits)
        exit_price = sum(f.price * f.contracts for f in exits) / contracts
        gross = sum(self.instrument.pnl_cents(p.side, p.entry_price, f.price, f.contracts)
                    for f in exits)
        commission = p.entry_commission_cents + sum(f.commission_cents for f in exits)
        self.updates.trades.append(TradeRecord(
            bracket_id=p.bracket_id, symbol=p.symbol, side=p.side, contracts=contracts,
            entry_ts=p.entry_ts, entry_price=p.entry_price, exit_ts=fill.ts,
            exit_price=exit_price, exit_reason=fill.exit_reason or ExitReason.FLATTEN,
            pnl_gross_cents=gross, commission_cents=commission,
            pnl_net_cents=gross - commission,
        ))
        self.position = None
        self._exit_fills = []

    def drop_position(self, ts: datetime, reason: str) -> None:
        """Forget a position IB no longer holds (an incident: no round trip can be booked)."""
        if self.position is None:
            return
        self.notice("position_missing_at_ib", "incident", reason,
                    bracket_id=self.position.bracket_id)
        self.position = None
        self._exit_fills = []
        self.updates.position_changed = True

    def adopt_position(self, position: Position) -> None:
        """Take over a position found at IB that the journal did not know."""
        self.position = position
        self._exit_fills = []
        self.updates.position_changed = True

    def drain(self) -> BrokerUpdates:
        updates, self.updates = self.updates, BrokerUpdates()
        return updates

    def drain_notices(self) -> list[StreamNotice]:
        notices, self.notices = self.notices, []
        return notices
