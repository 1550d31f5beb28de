"""The ``Broker`` protocol over Interactive Brokers: brackets at IB, IB's news as BrokerUpdates.

Level-triggered: ``sync`` compares ib_async's trades and fills with the book, so live events
and the state found after a reconnect take one path. A fill is booked once per IB execId (our
fill_id) when its commission report is in, or after ``commission_wait_s`` with an estimate. Order
ids never go below the highest one this clientId ever used (persisted), whatever nextValidId
says. Without a connection nothing is sent: brackets are refused, a flatten waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ib_async import IB, Contract, Trade
from ib_async import Fill as IbFill
from ib_async import Order as IbOrder

from bot.adapters.ib import orders as ib_orders
from bot.adapters.ib.book import OrderBook
from bot.adapters.ib.ids import OrderIdMap
from bot.adapters.ib.mapping import EXEC_SIDE, order_status, parse_order_ref
from bot.ports import BrokerUpdates, StreamNotice
from shared.config.settings import IbConfig
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
)

logger = logging.getLogger(__name__)


class IbBroker:
    """Trades one contract at IB for the engine; the session attaches and detaches the client."""

    def __init__(self, instrument: Instrument, cfg: IbConfig, book: OrderBook,
                 ids: OrderIdMap, commission_estimate_cents: int,
                 now: Callable[[], datetime]) -> None:
        self.instrument = instrument
        self.cfg = cfg
        self.book = book
        self.ids = ids
        self.ib: IB | None = None
        self.contract: Contract | None = None
        self.trades: dict[str, Trade] = {}
        self.pending_flatten: ExitReason | None = None
        self._commission_estimate_cents = commission_estimate_cents
        self.now = now
        self._waiting_s: dict[str, float] = {}
        self._reject_until_s = 0.0

    # --- connection -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.ib is not None and self.ib.isConnected() and self.contract is not None

    def attach(self, ib: IB, contract: Contract) -> None:
        """Start trading through a synced client on ``contract``."""
        self.ib, self.contract = ib, contract
        self.trades = {}

    def detach(self) -> None:
        """The client is gone: keep the book, forget the live handles."""
        self.ib, self.trades = None, {}

    # --- Broker protocol --------------------------------------------------------------------

    def position(self) -> Position | None:
        return self.book.position

    def working_orders(self) -> list[Order]:
        return list(self.book.orders.values())

    def has_pending_entry(self) -> bool:
        return self.book.working(OrderRole.ENTRY) is not None

    def drain_updates(self) -> BrokerUpdates:
        self.sync()
        return self.book.drain()

    def drain_notices(self) -> list[StreamNotice]:
        return self.book.drain_notices()

    def on_bar(self, bar: Bar) -> None:
        """Book IB's news; a limit entry still unfilled after its one bar is cancelled (§4a)."""
        self.sync()
        entry = self.book.working(OrderRole.ENTRY)
        if entry is not None and entry.order_type is OrderType.LIMIT and bar.ts > entry.created_ts:
            self._cancel(entry)

    def open_pnl_cents(self, price: float) -> int:
        """Unrealized gross P&L of the position at ``price`` (0 when flat)."""
        p = self.book.position
        if p is None:
            return 0
        return self.instrument.pnl_cents(p.side, p.entry_price, price, p.contracts)

    def place_bracket(self, plan: OrderPlan, bracket_id: str, ts: datetime) -> None:
        """Send entry + OCO target and stop as one IB bracket (transmitted by the stop)."""
        if self.book.position is not None or self.has_pending_entry():
            raise BrokerError(201, "a position or entry is already open: no second bracket")
        ours = ib_orders.our_bracket(plan, bracket_id, ts)
        refusal = self._refusal()
        if refusal is not None:
            for order in ours:
                self.book.set(replace(order, status=OrderStatus.REJECTED), ts, refusal)
            self.book.notice("entry_not_sent", "warning", f"{bracket_id}: {refusal}")
            return
        ids = (self._next_order_id(), self._next_order_id(), self._next_order_id())
        sent = ib_orders.bracket_orders(plan, bracket_id, ids, self.cfg.account)
        self._send(list(zip(sent, ours, strict=True)), ts, "submitted")

    def move_stop(self, new_stop_price: float, ts: datetime, reason: ExitReason) -> None:
        """Modify the working stop at IB (same orderId, new stop price)."""
        stop = self.book.working(OrderRole.STOP)
        trade = self.trades.get(stop.order_id) if stop else None
        if stop is None or trade is None or not self.connected or self.ib is None:
            self.book.notice("stop_not_moved", "warning",
                             f"stop not moved to {new_stop_price:g}: no live stop at IB")
            return
        price = self.instrument.round_to_tick(new_stop_price)
        trade.order.auxPrice = price
        trade.order.transmit = True
        self.ib.placeOrder(self.contract, trade.order)
        self.book.set(replace(stop, price=price, exit_reason=reason), ts,
                      f"stop moved to {price:g}")
        if self.book.position is not None:
            self.book.position = replace(self.book.position, stop_price=price)
            self.book.updates.position_changed = True

    def close_position(self, reason: ExitReason, ts: datetime) -> None:
        """Flatten: cancel working orders when flat, else a market exit in the bracket's OCA."""
        if not self.connected:
            self.pending_flatten = reason
            self.book.notice("flatten_deferred", "warning",
                             f"{reason.value}: not connected to IB; flatten sent on reconnect")
            return
        self.pending_flatten = None
        position = self.book.position
        if position is None:
            for order in list(self.book.orders.values()):
                self._cancel(order)
            return
        if self.book.working(OrderRole.EXIT) is not None:
            return
        ref = self.ids.fresh_ref(position.bracket_id, OrderRole.EXIT)
        ours = Order(ref, position.bracket_id, position.symbol, position.side.opposite,
                     OrderRole.EXIT, OrderType.MARKET, position.contracts, None,
                     OrderStatus.WORKING, ts, exit_reason=reason)
        sent = ib_orders.exit_order(position.side, position.contracts, position.bracket_id,
                                    ref, self._next_order_id(), self.cfg.account)
        self._send([(sent, ours)], ts, f"market exit: {reason.value}")

    def ensure_protective_stop(self, fallback_stop_price: float, ts: datetime) -> bool:
        """Re-place a missing stop for the open position; True if one was sent."""
        position = self.book.position
        if position is None or self.book.working(OrderRole.STOP) is not None:
            return False
        if not self.connected:
            return False
        price = self.instrument.round_to_tick(
            position.stop_price if position.stop_price is not None else fallback_stop_price)
        ref = self.ids.fresh_ref(position.bracket_id, OrderRole.STOP)
        ours = Order(ref, position.bracket_id, position.symbol, position.side.opposite,
                     OrderRole.STOP, OrderType.STOP, position.contracts, price,
                     OrderStatus.WORKING, ts, exit_reason=ExitReason.STOP)
        sent = ib_orders.stop_order(position.side, position.contracts, price,
                                    position.bracket_id, ref, self._next_order_id(),
                                    self.cfg.account)
        self._send([(sent, ours)], ts, "protective stop re-placed")
        self.book.position = replace(position, stop_price=price)
        self.book.updates.position_changed = True
        return True

    # --- sending ----------------------------------------------------------------------------

    def _refusal(self) -> str | None:
        if not self.connected:
            return "not sent: not connected to IB"
        wait_s = self._reject_until_s - time.monotonic()
        if wait_s > 0:
            return f"not sent: entries paused {wait_s:.0f} s more after IB rejected one"
        return None

    def _next_order_id(self) -> int:
        if self.ib is None:
            raise BrokerError(504, "not connected")
        client = self.ib.client
        client.updateReqId(self.ids.max_order_id + 1)
        order_id = client.getReqId()
        self.ids.max_order_id = order_id
        return order_id

    def _send(self, pairs: list[tuple[IbOrder, Order]], ts: datetime, detail: str) -> None:
        con_id = self.contract.conId if self.contract else 0
        self.ids.record([(o.orderRef, o.orderId) for o, _ in pairs], con_id, ts)
        for ib_order, ours in pairs:
            try:
                if self.ib is None:
                    raise ConnectionError("not connected")
                self.trades[ours.order_id] = self.ib.placeOrder(self.contract, ib_order)
            except ConnectionError as exc:
                self.book.set(replace(ours, status=OrderStatus.REJECTED), ts,
                              f"not sent: {exc}")
                continue
            self.book.set(ours, ts, f"{detail} (IB order {ib_order.orderId})")

    def _cancel(self, order: Order) -> None:
        trade = self.trades.get(order.order_id)
        if trade is None or self.ib is None:
            self.book.close_order(order.order_id, OrderStatus.CANCELLED, self.now(),
                                  "cancelled: not known at IB")
            return
        if not trade.isDone():
            self.ib.cancelOrder(trade.order)

    # --- reading IB -------------------------------------------------------------------------

    def sync(self) -> None:
        """Book new executions and status changes reported by ib_async (idempotent)."""
        if self.ib is None or self.contract is None:
            return
        # permIds first: an entry that filled since the last sync leaves the book with its fill,
        # and _sync_trade below only looks at orders still in the book.
        for trade in self.ib.trades():
            if trade.order.permId and self.ids.known(trade.order.orderRef):
                self.ids.note_perm_id(trade.order.orderRef, trade.order.permId, self.now())
        fills = sorted(self.ib.fills(), key=lambda f: (str(f.execution.time), f.execution.execId))
        for fill in fills:
            try:
                self._sync_fill(fill)
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                self._skip_bad(f"execution {fill.execution.execId}", exc)
                self.book.seen_fill_ids.add(fill.execution.execId)
        for trade in self.ib.trades():
            try:
                self._sync_trade(trade)
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                self._skip_bad(f"order {trade.order.orderRef!r}", exc)

    def _skip_bad(self, what: str, exc: Exception) -> None:
        logger.exception("skipped a malformed IB report on %s", what)
        self.book.notice("bad_broker_message", "warning",
                         f"skipped a malformed IB report on {what}: {exc}")

    def _sync_fill(self, ib_fill: IbFill) -> None:
        execution = ib_fill.execution
        exec_id = execution.execId
        if exec_id in self.book.seen_fill_ids:
            return
        parsed = parse_order_ref(execution.orderRef, self.instrument.symbol)
        if parsed is None or ib_fill.contract.conId != self.contract.conId:
            self.book.seen_fill_ids.add(exec_id)
            self.book.notice("foreign_execution", "warning",
                             f"execution {exec_id} ({execution.side} {execution.shares:g} "
                             f"{ib_fill.contract.localSymbol}) was not placed by this bot",
                             order_ref=execution.orderRef)
            return
        report = ib_fill.commissionReport
        if not report.execId:
            first_s = self._waiting_s.setdefault(exec_id, time.monotonic())
            if time.monotonic() - first_s < self.cfg.commission_wait_s:
                return
            logger.warning("no commission report for %s: booking an estimate", exec_id)
            commission_cents = self._commission_estimate_cents * int(execution.shares)
        else:
            commission_cents = round(report.commission * 100)
        self._waiting_s.pop(exec_id, None)
        order = self.book.orders.get(execution.orderRef)
        if order is None:
            order = self._adopt_for_fill(execution.orderRef, parsed.bracket_id, parsed.role,
                                         ib_fill)
        side = EXEC_SIDE.get(execution.side, order.side)
        self.book.apply_fill(Fill(
            fill_id=exec_id, order_id=order.order_id, bracket_id=order.bracket_id,
            symbol=order.symbol, side=side, role=order.role, contracts=int(execution.shares),
            price=float(execution.price), ts=execution.time, commission_cents=commission_cents,
            exit_reason=order.exit_reason,
        ), order)

    def _adopt_for_fill(self, ref: str, bracket_id: str, role: OrderRole,
                        ib_fill: IbFill) -> Order:
        execution = ib_fill.execution
        trade = next((t for t in self.ib.trades() if t.order.orderRef == ref), None) \
            if self.ib else None
        order = self.order_from_ib(ref, bracket_id, role, trade, execution.time)
        if trade is None:
            order = replace(order, side=EXEC_SIDE.get(execution.side, order.side),
                            contracts=int(execution.cumQty or execution.shares))
        self.book.set(order, execution.time, "adopted from IB (executed while unrecorded)")
        return order

    def order_from_ib(self, ref: str, bracket_id: str, role: OrderRole, trade: Trade | None,
                      ts: datetime) -> Order:
        """Our Order for an IB order carrying one of our refs (adoption after a crash)."""
        position = self.book.position
        return ib_orders.order_from_ib(ref, bracket_id, self.instrument.symbol, role, trade, ts,
                                       position.side.opposite if position else None)

    def _sync_trade(self, trade: Trade) -> None:
        ref = trade.order.orderRef
        order = self.book.orders.get(ref)
        if order is None or trade.contract.conId != self.contract.conId:
            return
        self.trades[ref] = trade
        if trade.order.permId:
            self.ids.note_perm_id(ref, trade.order.permId, self.now())
        codes = [entry.errorCode for entry in trade.log if entry.errorCode]
        status = order_status(trade.orderStatus.status, codes)
        if status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            return
        why = next((e.message for e in reversed(trade.log) if e.errorCode), "")
        detail = f"{status.value} by IB" + (f": {why}" if why else "")
        self.book.close_order(ref, status, self.now(), detail)
        if status is OrderStatus.REJECTED and order.role is OrderRole.ENTRY:
            self._reject_until_s = time.monotonic() + self.cfg.reject_pause_s
            self.book.notice("order_rejected", "incident",
                             f"IB rejected {ref}: {why or trade.orderStatus.status}; no new "
                             f"entry for {self.cfg.reject_pause_s:g} s", order_ref=ref)
