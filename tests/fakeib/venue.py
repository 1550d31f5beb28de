"""The fake exchange behind the gateway: orders, brackets, OCA groups, fills, positions, account.

Orders live here across client sessions and gateway restarts, as at a real broker. A bracket is
held until its last child transmits; the parent's fill activates the children; one fill in an
OCA group cancels the rest. Working orders are matched against each new 5-second bar: market
orders at the open, stops first, then limits; a bar that opens through a level fills at the open.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tests.fakeib import wire
from tests.fakeib.market import FakeBar, ListedFuture

logger = logging.getLogger(__name__)

DONE = frozenset({"Filled", "Cancelled", "Inactive"})
# The text IB sends with each error code a scripted modify rejection may use.
MODIFY_REJECT_TEXT = {
    321: "Error validating request.-'bW' : cause - ",
    201: "Order rejected - reason:",
    202: "Order Canceled - reason:",
}
Send = Callable[[int | None, list[object]], None]  # client id (None = every client), fields


@dataclass(slots=True)
class FakeOrder:
    """An order as the venue holds it."""

    client_id: int
    order_id: int
    perm_id: int
    fut: ListedFuture
    action: str
    qty: float
    order_type: str
    lmt: float | None
    aux: float | None
    tif: str
    oca_group: str
    oca_type: int
    account: str
    order_ref: str
    parent_id: int
    outside_rth: bool
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_price: float = 0.0
    last_price: float = 0.0

    @property
    def key(self) -> tuple[int, int]:
        return self.client_id, self.order_id

    @property
    def active(self) -> bool:
        return self.status not in DONE


@dataclass(frozen=True, slots=True)
class FakeExecution:
    """One fill, kept for reqExecutions and for the tests to compare with the journal."""

    exec_id: str
    order: FakeOrder
    side: str
    shares: float
    price: float
    ts: datetime
    cum_qty: float
    avg_price: float
    commission: float
    realized_pnl: float | None


@dataclass(slots=True)
class Venue:
    """Shared state of the fake broker; ``send`` delivers messages to connected clients."""

    account: str
    commission_per_contract: dict[str, float]
    send: Send
    orders: dict[tuple[int, int], FakeOrder] = field(default_factory=dict)
    used_ids: set[tuple[int, int]] = field(default_factory=set)
    executions: list[FakeExecution] = field(default_factory=list)
    positions: dict[int, tuple[ListedFuture, float, float]] = field(default_factory=dict)
    realized_usd: float = 0.0
    reject_next: int = 0
    reject_next_modifies: int = 0
    modify_reject_code: int = 321
    modify_reject_drops: bool = False  # the refusal also ends the order, with no status sent
    modifications: list[tuple[str, float | None]] = field(default_factory=list)
    placed: list[FakeOrder] = field(default_factory=list)
    _perm_ids: itertools.count = field(default_factory=lambda: itertools.count(1_000_001))
    _exec_ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # --- orders -----------------------------------------------------------------------------

    def place(self, order: FakeOrder, transmit: bool) -> None:
        """New order or modification of a working one (same client and order id)."""
        existing = self.orders.get(order.key)
        if existing is not None and existing.active:
            if self.reject_next_modifies > 0 and existing.status != "PendingSubmit":
                self.reject_next_modifies -= 1  # refused: the order works on, unchanged
                if self.modify_reject_drops:  # (or, scripted, is silently gone)
                    existing.status = "Cancelled"
                self.send(order.client_id, wire.error(
                    order.order_id, self.modify_reject_code,
                    MODIFY_REJECT_TEXT.get(self.modify_reject_code, "Order rejected - reason:")
                    + "fake gateway scripted modify rejection"))
                return
            if existing.status != "PendingSubmit":  # (order ref, its new working price)
                price = order.aux if existing.order_type == "STP" else order.lmt
                self.modifications.append((existing.order_ref, price))
            existing.qty, existing.lmt, existing.aux = order.qty, order.lmt, order.aux
            if transmit and existing.status == "PendingSubmit":
                self._transmit(existing)
            elif existing.status != "PendingSubmit":
                self._report(existing)
            return
        if order.key in self.used_ids:
            self.send(order.client_id, wire.error(order.order_id, 103, "Duplicate order id"))
            return
        order.perm_id = next(self._perm_ids)
        self.orders[order.key] = order
        self.used_ids.add(order.key)
        self.placed.append(order)
        if transmit:
            self._transmit(order)

    def _group(self, order: FakeOrder) -> list[FakeOrder]:
        parent = self.orders.get((order.client_id, order.parent_id)) if order.parent_id else order
        parent = parent or order
        children = [o for o in self.orders.values()
                    if o.parent_id and o.parent_id == parent.order_id
                    and o.client_id == parent.client_id and o.status == "PendingSubmit"]
        held_parent = [parent] if parent.status == "PendingSubmit" else []
        return held_parent + children

    def _transmit(self, order: FakeOrder) -> None:
        group = self._group(order)
        if self.reject_next > 0:
            self.reject_next -= 1
            self._reject(group)
            return
        for member in group:
            parent = self.orders.get((member.client_id, member.parent_id))
            waiting = parent is not None and parent.status != "Filled"
            member.status = "PreSubmitted" if waiting else "Submitted"
            self._report(member)

    def _reject(self, group: list[FakeOrder]) -> None:
        first, *rest = group
        first.status = "Cancelled"
        self.send(first.client_id, wire.error(
            first.order_id, 201, "Order rejected - reason:fake gateway scripted rejection"))
        for member in rest:
            member.status = "Cancelled"
            self._report(member)

    def cancel(self, client_id: int, order_id: int) -> None:
        """Cancel a working order (and the children of an unfilled parent)."""
        order = self.orders.get((client_id, order_id))
        if order is None:
            message = f"OrderId {order_id} that needs to be cancelled is not found."
            self.send(client_id, wire.error(order_id, 10147, message))
            return
        if not order.active:
            message = f"OrderId {order_id} cannot be cancelled, state: {order.status}."
            self.send(client_id, wire.error(order_id, 10148, message))
            return
        self._cancel(order, "Order Canceled - reason:")
        for child in self._children(order):
            self._cancel(child, "Order Canceled - reason:parent cancelled")

    def cancel_all(self) -> None:
        """reqGlobalCancel: cancel every working order."""
        for order in [o for o in self.orders.values() if o.active]:
            self._cancel(order, "Order Canceled - reason:global cancel")

    def _cancel(self, order: FakeOrder, reason: str) -> None:
        if not order.active:
            return
        order.status = "Cancelled"
        self._report(order)
        self.send(order.client_id, wire.error(order.order_id, 202, reason))

    def _children(self, order: FakeOrder) -> list[FakeOrder]:
        return [o for o in self.orders.values()
                if o.client_id == order.client_id and o.parent_id == order.order_id and o.active]

    def open_orders(self, client_id: int) -> list[FakeOrder]:
        """Transmitted, working orders of one client."""
        return [o for o in self.orders.values()
                if o.client_id == client_id and o.active and o.status != "PendingSubmit"]

    def open_order_messages(self, order: FakeOrder) -> list[list[object]]:
        """openOrder + orderStatus for one order."""
        return [
            wire.open_order_fields(
                order.order_id, order.fut.contract_fields(), order.action, order.qty,
                order.order_type, order.lmt, order.aux, order.tif, order.oca_group,
                order.account, order.order_ref, order.client_id, order.perm_id,
                order.outside_rth, order.oca_type, order.parent_id, order.status),
            wire.order_status(
                order.order_id, order.status, order.filled, order.qty - order.filled,
                order.avg_price, order.perm_id, order.parent_id, order.last_price,
                order.client_id),
        ]

    def _report(self, order: FakeOrder) -> None:
        for message in self.open_order_messages(order):
            self.send(order.client_id, message)

    # --- matching ---------------------------------------------------------------------------

    def on_bar(self, bar: FakeBar) -> None:
        """Match working orders against one bar (fills, child activation, OCA cancels)."""
        while True:
            working = [o for o in self.orders.values() if o.status == "Submitted"]
            working.sort(key=lambda o: ({"MKT": 0, "STP": 1}.get(o.order_type, 2), o.perm_id))
            for order in working:
                price = _trigger(order, bar)
                if price is not None:
                    self._fill(order, price, bar.ts)
                    break
            else:
                return

    def _fill(self, order: FakeOrder, price: float, ts: datetime) -> None:
        shares = order.qty - order.filled
        order.avg_price = (order.avg_price * order.filled + price * shares) / order.qty
        order.filled, order.last_price, order.status = order.qty, price, "Filled"
        realized = self._apply_position(order.fut, shares if order.action == "BUY" else -shares,
                                        price)
        commission = round(self.commission_per_contract[order.fut.symbol] * shares, 2)
        self.realized_usd += (realized or 0.0) - commission
        execution = FakeExecution(
            f"0000e0d5.{next(self._exec_ids):08x}.01.01", order,
            "BOT" if order.action == "BUY" else "SLD", shares, price,
            ts + timedelta(seconds=1), order.filled, order.avg_price, commission, realized,
        )
        self.executions.append(execution)
        self.send(order.client_id, self.exec_message(execution, -1))
        self._report(order)
        self.send(order.client_id, wire.commission_report(
            execution.exec_id, commission, realized))
        for child in self._children(order):
            child.status = "Submitted"
            self._report(child)
        for other in list(self.orders.values()):
            siblings = bool(order.parent_id) and other.parent_id == order.parent_id and (
                other.client_id == order.client_id)
            same_oca = bool(order.oca_group) and other.oca_group == order.oca_group
            if other is not order and other.active and (siblings or same_oca):
                self._cancel(other, "Order Canceled - reason:OCA group filled")
        self.push_positions(price)

    def exec_message(self, execution: FakeExecution, req_id: int) -> list[object]:
        order = execution.order
        return wire.exec_details(
            req_id, order.order_id, order.fut.contract_fields(), execution.exec_id,
            execution.ts, order.account, execution.side, execution.shares, execution.price,
            order.perm_id, order.client_id, execution.cum_qty, execution.avg_price,
            order.order_ref)

    def _apply_position(self, fut: ListedFuture, signed_qty: float, price: float) -> float | None:
        _, qty, avg_cost = self.positions.get(fut.con_id, (fut, 0.0, 0.0))
        cost = price * fut.multiplier
        realized = None
        if qty == 0 or (qty > 0) == (signed_qty > 0):
            new_qty = qty + signed_qty
            avg_cost = (avg_cost * abs(qty) + cost * abs(signed_qty)) / abs(new_qty)
        else:
            closed = min(abs(qty), abs(signed_qty))
            realized = (cost - avg_cost) * closed * (1 if qty > 0 else -1)
            new_qty = qty + signed_qty
            if new_qty == 0:
                avg_cost = 0.0
            elif (new_qty > 0) != (qty > 0):
                avg_cost = cost
        self.positions[fut.con_id] = (fut, new_qty, avg_cost)
        return realized

    def position_messages(self, price: float | None) -> list[list[object]]:
        """position (61) and portfolio (7) rows for every contract ever held."""
        messages = []
        for fut, qty, avg_cost in self.positions.values():
            messages.append(wire.position(self.account, fut, qty, avg_cost))
            mark = price if price is not None else avg_cost / fut.multiplier
            messages.append(wire.portfolio_value(self.account, fut, qty, mark, avg_cost))
        return messages

    def push_positions(self, price: float) -> None:
        for message in self.position_messages(price):
            self.send(None, message)

    def signed_position(self, con_id: int) -> float:
        """Net contracts held in one contract (tests)."""
        return self.positions.get(con_id, (None, 0.0, 0.0))[1]


def _trigger(order: FakeOrder, bar: FakeBar) -> float | None:
    buy = order.action == "BUY"
    if order.order_type == "MKT":
        return bar.open
    if order.order_type == "STP" and order.aux is not None:
        level = order.aux
        if (bar.open >= level) if buy else (bar.open <= level):
            return bar.open
        touched = bar.high >= level if buy else bar.low <= level
        return level if touched else None
    if order.order_type == "LMT" and order.lmt is not None:
        level = order.lmt
        if (bar.open <= level) if buy else (bar.open >= level):
            return bar.open
        touched = bar.low <= level if buy else bar.high >= level
        return level if touched else None
    return None
