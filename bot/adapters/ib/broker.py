"""The ``Broker`` protocol over Interactive Brokers: brackets at IB, IB's news as BrokerUpdates.

Level-triggered: ``sync`` compares ib_async's trades and fills with the book, so live events
and the state found after a reconnect take one path. A fill is booked once per IB execId (our
fill_id) when its commission report is in, or after ``commission_wait_s`` with an estimate. Order
ids never go below the highest one this clientId ever used (persisted), whatever nextValidId
says. Without a connection nothing is sent: brackets are refused, a flatten waits.
"""

from __future__ import annotations

import asyncio
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
from bot.adapters.ib.mapping import (
    EXEC_SIDE,
    REJECTION_CODES,
    order_status,
    parse_order_ref,
)
from bot.adapters.ib.restart_window import describe, entries_paused
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

# IB's answers to a modification it refused while the order stays live (ib_async logs them on
# the trade as warnings): does not match (105), off-tick price (110), not found (135), request
# invalid (321), type change (329). Other warnings (e.g. 399 outside-RTH notes) are not refusals.
MODIFY_REFUSED_CODES = frozenset({105, 110, 135, 321, 329})
# Order errors that, answering our modification of a working order, also mean IB refused the
# change and kept the order at its old price, though ib_async takes them for the order's end
# and marks the trade Cancelled locally (erdewit/ib_insync #502): 201 "Order rejected" and the
# other rejections. 202 "Order Canceled" is not one: it reports a real cancel.
MODIFY_REJECTED_CODES = MODIFY_REFUSED_CODES | REJECTION_CODES
# IB statuses (reported by IB, not set by ib_async on an error) after which an order is gone.
IB_DONE_STATUSES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
CONFIRM_TIMEOUT_S = 10.0  # how long IB may take to list its open orders after a refusal


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
        self._modifying: dict[str, tuple[Order, int]] = {}  # ref -> (order before, log mark)
        self._log_floor: dict[str, int] = {}  # ref -> first trade.log entry still to be read
        self._confirming: set[asyncio.Task[None]] = set()

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
        self._modify(OrderRole.STOP, new_stop_price, ts, reason)

    def move_target(self, new_target_price: float, ts: datetime) -> None:
        """Modify the working target at IB (same orderId, new limit price)."""
        self._modify(OrderRole.TARGET, new_target_price, ts, ExitReason.TARGET)

    def cancel_entry(self, ts: datetime) -> bool:
        """Cancel the unfilled entry at IB (IB cancels its children); False when none works."""
        entry = self.book.working(OrderRole.ENTRY)
        if entry is None or self.book.position is not None or not self.connected:
            return False
        self._cancel(entry)
        return True

    def _modify(self, role: OrderRole, new_price: float, ts: datetime,
                reason: ExitReason) -> None:
        """Send a modification of our working stop or target; the book takes the new price now
        and goes back to the old one if IB rejects it (``sync``), so IB and the book agree."""
        order = self.book.working(role)
        trade = self.trades.get(order.order_id) if order else None
        name = role.value
        if order is None or trade is None or trade.isDone() or not self.connected \
                or self.ib is None:
            self.book.notice(f"{name}_not_moved", "warning",
                             f"{name} not moved to {new_price:g}: no live {name} at IB")
            return
        price = self.instrument.round_to_tick(new_price)
        field = "auxPrice" if role is OrderRole.STOP else "lmtPrice"
        old_price = getattr(trade.order, field)
        setattr(trade.order, field, price)
        trade.order.transmit = True
        try:
            self.ib.placeOrder(self.contract, trade.order)
        except ConnectionError as exc:
            setattr(trade.order, field, old_price)
            self.book.notice(f"{name}_not_moved", "warning",
                             f"{name} not moved to {price:g} ({exc}): it stays at {old_price:g}")
            return
        self._modifying[order.order_id] = (order, len(trade.log))
        self._book_level(replace(order, price=price, exit_reason=reason), ts,
                         f"{name} moved to {price:g} (IB order {trade.order.orderId} modified)")

    def _book_level(self, order: Order, ts: datetime, detail: str) -> None:
        self.book.set(order, ts, detail)
        position = self.book.position
        if position is None:
            return
        if order.role is OrderRole.STOP:
            self.book.position = replace(position, stop_price=order.price)
        else:
            self.book.position = replace(position, target_price=order.price)
        self.book.updates.position_changed = True

    def _check_modification(self, ref: str, trade: Trade) -> None:
        """A modification IB refused leaves the old order working: book the old price back.

        Whether IB answered with a warning (321) or with a rejection ib_async took for the
        order's end (201), the order is live at IB at its old price unless IB itself reported
        it done; so ib_async's local status goes back to the live one it had, and the refusal
        is not read later as the order's rejection (no second stop beside the working one)."""
        pending = self._modifying.get(ref)
        if pending is None:
            return
        before, mark = pending
        news = trade.log[mark:]
        ended_by_ib = any(e.errorCode == 0 and e.status in IB_DONE_STATUSES for e in news)
        if ended_by_ib or ref not in self.book.orders:
            self._modifying.pop(ref, None)
            return
        at = next((i for i, e in enumerate(news) if e.errorCode in MODIFY_REJECTED_CODES),
                  None)
        if at is None:
            if trade.isDone():
                self._modifying.pop(ref, None)
            return
        refusal = news[at]
        self._modifying.pop(ref, None)
        self._log_floor[ref] = mark + at + 1
        if trade.isDone():  # ib_async's guess, not IB's word: back to the last live status
            trade.orderStatus.status = next(
                (e.status for e in reversed(trade.log[:mark + at])
                 if e.errorCode == 0 and e.status not in IB_DONE_STATUSES), "Submitted")
            self._confirm_later(ref, trade)
        name = before.role.value
        field = "auxPrice" if before.role is OrderRole.STOP else "lmtPrice"
        setattr(trade.order, field, before.price)
        self._book_level(before, self.now(), f"{name} modification rejected by IB "
                         f"({refusal.errorCode}): {name} stays at {before.price:g}")
        self.book.notice(f"{name}_modify_rejected", "incident",
                         f"IB rejected moving the {name} of {before.bracket_id} "
                         f"({refusal.errorCode} {refusal.message}); the old {name} "
                         f"{before.price:g} stays working", order_ref=ref)

    def _confirm_later(self, ref: str, trade: Trade) -> None:
        """Ask IB for its open orders to confirm it still holds ``trade`` after a rejection
        (without a running event loop the next reconcile does it)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self._confirm(ref, trade), name=f"ib-confirm-{ref}")
        self._confirming.add(task)
        task.add_done_callback(self._confirming.discard)

    async def _confirm(self, ref: str, trade: Trade) -> None:
        """Close our order if IB's open orders lack it: then the engine re-places the stop."""
        ib = self.ib
        if ib is None:
            return
        try:
            held = await asyncio.wait_for(ib.reqOpenOrdersAsync(), CONFIRM_TIMEOUT_S)
        except (ConnectionError, TimeoutError) as exc:
            logger.warning("could not confirm %s at IB after a refused modification: %s",
                           ref, exc)
            return
        order_id = trade.order.orderId
        if any(t.order.orderId == order_id for t in held) or self.ib is not ib \
                or ref not in self.book.orders or trade.isDone():
            return
        trade.orderStatus.status = "Cancelled"
        self.book.close_order(ref, OrderStatus.CANCELLED, self.now(),
                              "cancelled: IB no longer lists it after refusing its modification")
        self.book.notice("order_gone_after_modify", "incident",
                         f"IB no longer holds {ref} (orderId {order_id}) after rejecting its "
                         "modification; booked cancelled", order_ref=ref)

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
        if entries_paused(self.cfg.restart_window, self.now()):
            return ("not sent: new entries paused around IB Gateway's daily restart "
                    f"({describe(self.cfg.restart_window)})")
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
        if trade.contract.conId != self.contract.conId:
            return
        if trade.order.permId:  # ours only; also once the order filled and left the book
            self.ids.note_perm_id(ref, trade.order.permId, self.now())
        order = self.book.orders.get(ref)
        if order is None:
            return
        self.trades[ref] = trade
        self._check_modification(ref, trade)
        # a warning (a refused modification) leaves the order live: not a rejection of it
        log = trade.log[self._log_floor.get(ref, 0):]  # not a refused modification's error
        codes = [entry.errorCode for entry in log
                 if entry.errorCode and entry.status != "ValidationError"]
        status = order_status(trade.orderStatus.status, codes)
        if status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            return
        why = next((e.message for e in reversed(log) if e.errorCode), "")
        detail = f"{status.value} by IB" + (f": {why}" if why else "")
        self.book.close_order(ref, status, self.now(), detail)
        if status is OrderStatus.REJECTED and order.role is OrderRole.ENTRY:
            self._reject_until_s = time.monotonic() + self.cfg.reject_pause_s
            self.book.notice("order_rejected", "incident",
                             f"IB rejected {ref}: {why or trade.orderStatus.status}; no new "
                             f"entry for {self.cfg.reject_pause_s:g} s", order_ref=ref)
