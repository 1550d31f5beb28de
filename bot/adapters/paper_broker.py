"""The built-in paper broker: exchange-held brackets simulated bar by bar (DESIGN §4a).

A market entry decided on bar t fills at the open of bar t+1 plus slippage; its stop and target
work from that same bar. When one bar touches both, the stop wins; a bar that opens beyond a
level fills at that open. Stops and market orders pay slippage in ticks, target limits do not;
commission is charged per contract per side. State is handed in and reported out, so the
engine can persist it and a restarted bot resumes with its stop working. A backtest whose journal
keeps only trades builds the broker with ``record_orders=False``: the same fills and trades, without
the order events and fill records no one reads (half the objects a round trip creates).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from bot.ports import BrokerUpdates, OrderEvent
from shared.domain.errors import BrokerError
from shared.domain.instruments import Instrument
from shared.domain.models import (
    Bar,
    ExitReason,
    Fill,
    Order,
    OrderPlan,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TradeRecord,
)

logger = logging.getLogger(__name__)


class PaperBroker:
    """Simulated fills against bars; holds at most one bracket and one position."""

    def __init__(
        self,
        instrument: Instrument,
        commission_cents_per_side: int,
        slippage_ticks: int,
        working_orders: list[Order] | None = None,
        position: Position | None = None,
        record_orders: bool = True,
    ) -> None:
        self._instrument = instrument
        self._record_orders = record_orders
        self._commission_cents = commission_cents_per_side
        self._slippage_points = slippage_ticks * instrument.tick_size
        self._orders: dict[str, Order] = {o.order_id: o for o in working_orders or []}
        self._position = position
        self._updates = BrokerUpdates()

    @property
    def connected(self) -> bool:
        return True

    def position(self) -> Position | None:
        """Return the open position, or None when flat."""
        return self._position

    def working_orders(self) -> list[Order]:
        """Return working orders in submission order."""
        return list(self._orders.values())

    def has_pending_entry(self) -> bool:
        """Whether an entry order is working (submitted, not yet filled)."""
        return self._working(OrderRole.ENTRY) is not None

    def drain_updates(self) -> BrokerUpdates:
        """Return and forget everything that happened since the last drain.

        Most bars nothing happened: the empty batch is handed out and kept (read at once by
        the engine), instead of making a new one with three lists twice a bar.
        """
        updates = self._updates
        if updates.orders or updates.fills or updates.trades or updates.position_changed:
            self._updates = BrokerUpdates()
        return updates

    def place_bracket(self, plan: OrderPlan, bracket_id: str, ts: datetime) -> None:
        """Submit entry + OCO stop and target together; reject a malformed plan."""
        if self._position is not None or self.has_pending_entry():
            raise BrokerError(201, "a position or entry is already open: no second bracket")
        sign = plan.side.sign
        if plan.contracts < 1 or (plan.entry_price - plan.stop_price) * sign <= 0 or (
            plan.target_price - plan.entry_price
        ) * sign <= 0:
            raise BrokerError(201, f"bracket levels are on the wrong side: {plan}")
        exit_side = plan.side.opposite
        entry_price = plan.entry_price if plan.entry_type is OrderType.LIMIT else None
        common = {"bracket_id": bracket_id, "symbol": plan.symbol, "contracts": plan.contracts,
                  "status": OrderStatus.WORKING, "created_ts": ts}
        orders = [
            Order(f"{bracket_id}-entry", side=plan.side, role=OrderRole.ENTRY,
                  order_type=plan.entry_type, price=entry_price, **common),
            Order(f"{bracket_id}-stop", side=exit_side, role=OrderRole.STOP,
                  order_type=OrderType.STOP, price=plan.stop_price,
                  exit_reason=ExitReason.STOP, **common),
            Order(f"{bracket_id}-target", side=exit_side, role=OrderRole.TARGET,
                  order_type=OrderType.LIMIT, price=plan.target_price,
                  exit_reason=ExitReason.TARGET, **common),
        ]
        for order in orders:
            self._set(order, ts, "submitted")

    def move_stop(self, new_stop_price: float, ts: datetime, reason: ExitReason) -> None:
        """Modify the working stop (trailing); the position records the new level."""
        stop = self._working(OrderRole.STOP)
        if stop is None or self._position is None:
            raise BrokerError(135, "no working stop to modify")
        price = self._instrument.round_to_tick(new_stop_price)
        self._set(replace(stop, price=price, exit_reason=reason), ts, f"stop moved to {price:g}")
        self._position = replace(self._position, stop_price=price)
        self._updates.position_changed = True

    def move_target(self, new_target_price: float, ts: datetime) -> None:
        """Modify the working target (a trader's command); the position records the new level."""
        target = self._working(OrderRole.TARGET)
        if target is None or self._position is None:
            raise BrokerError(135, "no working target to modify")
        price = self._instrument.round_to_tick(new_target_price)
        self._set(replace(target, price=price), ts, f"target moved to {price:g}")
        self._position = replace(self._position, target_price=price)
        self._updates.position_changed = True

    def cancel_entry(self, ts: datetime) -> bool:
        """Cancel a working, unfilled entry with its stop and target; False when there is none."""
        if self._position is not None or not self.has_pending_entry():
            return False
        self._cancel_all(ts, "cancelled by the trader")
        return True

    def close_position(self, reason: ExitReason, ts: datetime) -> None:
        """Flatten: cancel a pending entry, or send a market exit that fills at the next open."""
        if self._position is None:
            self._cancel_all(ts, f"cancelled: {reason.value}")
            return
        if self._working(OrderRole.EXIT) is not None:
            return
        bracket_id = self._position.bracket_id
        exit_order = Order(
            f"{bracket_id}-exit", bracket_id, self._position.symbol, self._position.side.opposite,
            OrderRole.EXIT, OrderType.MARKET, self._position.contracts, None,
            OrderStatus.WORKING, ts, exit_reason=reason,
        )
        self._set(exit_order, ts, f"market exit: {reason.value}")

    def ensure_protective_stop(self, fallback_stop_price: float, ts: datetime) -> bool:
        """Re-place a missing stop for the open position; return True if one was placed."""
        position = self._position
        if position is None or self._working(OrderRole.STOP) is not None:
            return False
        price = position.stop_price if position.stop_price is not None else fallback_stop_price
        stop = Order(
            f"{position.bracket_id}-stop", position.bracket_id, position.symbol,
            position.side.opposite, OrderRole.STOP, OrderType.STOP, position.contracts,
            self._instrument.round_to_tick(price), OrderStatus.WORKING, ts,
            exit_reason=ExitReason.STOP,
        )
        self._set(stop, ts, "protective stop re-placed")
        self._position = replace(position, stop_price=stop.price)
        self._updates.position_changed = True
        return True

    def open_pnl_cents(self, price: float) -> int:
        """Unrealized gross P&L of the position at ``price`` (0 when flat)."""
        p = self._position
        if p is None:
            return 0
        return self._instrument.pnl_cents(p.side, p.entry_price, price, p.contracts)

    def on_bar(self, bar: Bar) -> None:
        """Execute working orders against a new bar: entry at the open, then exits."""
        if not self._orders:
            return  # nothing working: no entry, and an open position has no order to fill
        entry = self._working(OrderRole.ENTRY)
        if entry is not None and self._position is None:
            self._execute_entry(entry, bar)
        if self._position is None:
            return
        exit_order = self._working(OrderRole.EXIT)
        if exit_order is not None:
            self._close(exit_order, self._slipped(bar.open, exit_order.side), bar.ts)
            return
        self._execute_bracket(bar)

    # --- internals --------------------------------------------------------------------------

    def _working(self, role: OrderRole) -> Order | None:
        for order in self._orders.values():
            if order.role is role:
                return order
        return None

    def _set(self, order: Order, ts: datetime, detail: str) -> None:
        if order.status is OrderStatus.WORKING:
            self._orders[order.order_id] = order
        else:
            self._orders.pop(order.order_id, None)
        if self._record_orders:
            self._updates.orders.append(OrderEvent(order, ts, detail))

    def _finish(self, order: Order, status: OrderStatus, ts: datetime, detail: str) -> None:
        """The working ``order`` is done (filled or cancelled): forget it, record its event."""
        self._orders.pop(order.order_id, None)
        if self._record_orders:
            self._updates.orders.append(OrderEvent(order.with_status(status), ts, detail))

    def _slipped(self, price: float, order_side: Side) -> float:
        return price + order_side.sign * self._slippage_points

    def _fill(self, order: Order, price: float, ts: datetime) -> int:
        """Fill ``order`` at ``price``; return the fill's commission in cents."""
        commission = self._commission_cents * order.contracts
        self._orders.pop(order.order_id, None)
        if self._record_orders:
            self._updates.orders.append(
                OrderEvent(order.with_status(OrderStatus.FILLED), ts, f"filled at {price:g}"))
            self._updates.fills.append(Fill(
                fill_id=f"{order.order_id}-fill", order_id=order.order_id,
                bracket_id=order.bracket_id, symbol=order.symbol, side=order.side,
                role=order.role, contracts=order.contracts, price=price, ts=ts,
                commission_cents=commission, exit_reason=order.exit_reason,
            ))
        return commission

    def _execute_entry(self, entry: Order, bar: Bar) -> None:
        if entry.order_type is OrderType.MARKET:
            price = self._slipped(bar.open, entry.side)
        else:
            limit = entry.price if entry.price is not None else bar.open
            opened_through = (limit - bar.open) * entry.side.sign >= 0
            touched = (bar.low <= limit) if entry.side is Side.LONG else (bar.high >= limit)
            if not (opened_through or touched):
                self._cancel_all(bar.ts, "limit entry expired unfilled after one bar")
                return
            price = bar.open if opened_through else limit
        commission = self._fill(entry, price, bar.ts)
        stop = self._working(OrderRole.STOP)
        target = self._working(OrderRole.TARGET)
        self._position = Position(
            symbol=entry.symbol, side=entry.side, contracts=entry.contracts, entry_price=price,
            entry_ts=bar.ts, bracket_id=entry.bracket_id,
            stop_price=stop.price if stop else None, target_price=target.price if target else None,
            entry_commission_cents=commission,
        )
        self._updates.position_changed = True

    def _execute_bracket(self, bar: Bar) -> None:
        position = self._position
        if position is None:
            return
        stop, target = self._working(OrderRole.STOP), self._working(OrderRole.TARGET)
        sign = position.side.sign
        adverse_extreme = bar.low if position.side is Side.LONG else bar.high
        favorable_extreme = bar.high if position.side is Side.LONG else bar.low
        if stop is not None and stop.price is not None and (bar.open - stop.price) * sign <= 0:
            self._close(stop, self._slipped(bar.open, stop.side), bar.ts)
        elif target is not None and target.price is not None and (
            bar.open - target.price
        ) * sign >= 0:
            self._close(target, bar.open, bar.ts)
        elif stop is not None and stop.price is not None and (
            adverse_extreme - stop.price
        ) * sign <= 0:
            self._close(stop, self._slipped(stop.price, stop.side), bar.ts)
        elif target is not None and target.price is not None and (
            favorable_extreme - target.price
        ) * sign >= 0:
            self._close(target, target.price, bar.ts)

    def _close(self, order: Order, price: float, ts: datetime) -> None:
        position = self._position
        if position is None:
            return
        exit_commission = self._fill(order, price, ts)
        gross = self._instrument.pnl_cents(
            position.side, position.entry_price, price, position.contracts
        )
        commission = position.entry_commission_cents + exit_commission
        self._updates.trades.append(
            TradeRecord(
                bracket_id=position.bracket_id, symbol=position.symbol, side=position.side,
                contracts=position.contracts, entry_ts=position.entry_ts,
                entry_price=position.entry_price, exit_ts=ts, exit_price=price,
                exit_reason=order.exit_reason or ExitReason.FLATTEN, pnl_gross_cents=gross,
                commission_cents=commission, pnl_net_cents=gross - commission,
            )
        )
        self._position = None
        self._updates.position_changed = True
        self._cancel_all(ts, "cancelled: bracket closed (OCO)")

    def _cancel_all(self, ts: datetime, detail: str) -> None:
        for order in list(self._orders.values()):
            self._finish(order, OrderStatus.CANCELLED, ts, detail)
