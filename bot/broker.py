"""The broker boundary: the small protocol the engine trades through (paper or IB).

A broker holds working orders and the position, and reports what happened since the last call
as ``BrokerUpdates`` (order changes, fills, closed trades) for the engine to journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.models import Bar, ExitReason, Fill, Order, OrderPlan, Position, TradeRecord


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order's new state, when it changed and why (submitted, filled, moved, cancelled)."""

    order: Order
    ts: datetime
    detail: str


@dataclass(slots=True)
class BrokerUpdates:
    """Everything a broker did since it was last drained, in the order it happened."""

    orders: list[OrderEvent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    position_changed: bool = False

    def extend(self, other: BrokerUpdates) -> None:
        """Append another batch of updates after this one."""
        self.orders.extend(other.orders)
        self.fills.extend(other.fills)
        self.trades.extend(other.trades)
        self.position_changed = self.position_changed or other.position_changed


class Broker(Protocol):
    """What the engine needs from a broker."""

    @property
    def connected(self) -> bool: ...

    def position(self) -> Position | None: ...

    def working_orders(self) -> list[Order]: ...

    def has_pending_entry(self) -> bool: ...

    def place_bracket(self, plan: OrderPlan, bracket_id: str, ts: datetime) -> None: ...

    def move_stop(self, new_stop_price: float, ts: datetime, reason: ExitReason) -> None: ...

    def close_position(self, reason: ExitReason, ts: datetime) -> None: ...

    def ensure_protective_stop(self, fallback_stop_price: float, ts: datetime) -> bool: ...

    def on_bar(self, bar: Bar) -> None: ...

    def drain_updates(self) -> BrokerUpdates: ...
