"""The position card's per-trade controls: move the stop or the target, cancel the working
entry, exit this position.

Each control writes one command row naming the trade (its bracket id) and the price; the bot
checks it (``bot.core.trade_control``: tick, side of the market, tighten always, widen a stop
only within the risk per trade and the disaster stop) and carries it out between bars. The page
never calls a broker; it shows the bot's outcome, accepted or refused with the reason, when the
row comes back. While the bot is not running the controls are disabled: a command queued then
would act only when the bot starts again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from dashboard import fmt, frame, plain, zones
from shared.domain.models import CommandKind, CommandStatus, Order, OrderRole
from shared.persistence import journal_store, ops_store
from shared.persistence.db import write_transaction
from shared.persistence.ops_store import Heartbeat

STATE_KEY = "trade_control_command"
PRICE_STEP = 0.25  # the MES/ES tick: the bot refuses anything off it
# IB's refusal of a sent modification comes after the command's outcome, as one of these events
REFUSAL_KINDS = ("stop_modify_rejected", "target_modify_rejected")
RECENT_EVENTS = 200


@dataclass(frozen=True, slots=True)
class Ticket:
    """What the controls act on: the open position's bracket, or the working unfilled entry."""

    bracket_id: str | None
    stop_price: float | None
    target_price: float | None
    entry: Order | None
    refusals: tuple[tuple[datetime, str], ...] = field(default=())  # the broker's, this trade


def _refusals(conn: sqlite3.Connection, bracket_id: str) -> tuple[tuple[datetime, str], ...]:
    """The broker's refusals of this trade's modifications (IB answers after the command)."""
    found = []
    for event in ops_store.recent_events(conn, RECENT_EVENTS):
        if event.kind not in REFUSAL_KINDS:
            continue
        try:
            ref = str(json.loads(event.detail_json or "{}").get("order_ref", ""))
        except (json.JSONDecodeError, AttributeError):
            continue
        if ref.startswith(f"{bracket_id}-"):
            found.append((event.ts, event.message))
    return tuple(found[:3])


def read_ticket(conn: sqlite3.Connection, symbol: str) -> Ticket:
    """The journaled position (with the broker's refusals of its moves) and working entry."""
    position = journal_store.load_position(conn, symbol)
    if position is not None:
        return Ticket(position.bracket_id, position.stop_price, position.target_price, None,
                      _refusals(conn, position.bracket_id))
    entry = next((o for o in journal_store.working_orders(conn, symbol)
                  if o.role is OrderRole.ENTRY), None)
    return Ticket(None, None, None, entry)


def _queue(kind: CommandKind, payload: dict, label: str) -> None:
    """Journal one command (a button's ``on_click``: Streamlit runs a callback once per click,
    while a click whose run a timed refresh interrupts is replayed into the next run's body,
    which sent a move twice under load)."""
    with frame.writer() as conn, write_transaction(conn):
        command_id = ops_store.enqueue_command(conn, kind, frame.utc_now(), payload)
    st.session_state[STATE_KEY] = (command_id, label)


def _outcome() -> None:
    """The last per-trade command's state: waiting for the bot, done, or refused and why."""
    sent = st.session_state.get(STATE_KEY)
    if sent is None:
        return
    command_id, label = sent
    with frame.reader() as conn:
        row = ops_store.command_outcome(conn, command_id) if conn is not None else None
    if row is None or row.status is CommandStatus.PENDING:
        st.info(f"{label}: sent to the bot as command #{command_id}, waiting for its answer")
    elif row.status is CommandStatus.DONE:
        st.success(f"{label}: {plain.escape(row.result)}")
    else:
        st.error(f"{label}: {plain.escape(row.result)}")


def _queue_move(kind: CommandKind, name: str, bracket_id: str) -> None:
    price = st.session_state.get(f"tc_{name}_{bracket_id}")
    if price is not None:
        _queue(kind, {"bracket_id": bracket_id, "price": price},
               f"Move {name} to {fmt.points(price)}")


def _queue_exit(bracket_id: str) -> None:
    if st.session_state.get(f"tc_confirm_exit_{bracket_id}"):
        _queue(CommandKind.EXIT_POSITION, {"bracket_id": bracket_id}, "Exit position")


def _level_control(kind: CommandKind, name: str, bracket_id: str, current: float | None,
                   disabled: bool) -> None:
    # One under the other: the card is a quarter of the page wide (1,024 px leaves no room
    # for an input and a button side by side, nor for a price inside a placeholder).
    price = st.number_input(
        f"New {name} (now {fmt.points(current)})", value=None, step=PRICE_STEP, format="%.2f",
        min_value=0.0, key=f"tc_{name}_{bracket_id}", disabled=disabled)
    st.button(f"Move {name}", key=f"tc_move_{name}_{bracket_id}",
              disabled=disabled or price is None, on_click=_queue_move,
              args=(kind, name, bracket_id))


def render(ticket: Ticket, heartbeat: Heartbeat | None, running: bool, zone: str) -> None:
    """The controls for the open position (or the working entry), then the last outcome and
    the broker's refusals of this trade's moves, newest first."""
    disabled = not running or heartbeat is None
    if ticket.bracket_id is not None:
        st.caption("Tighten a level any time; a stop may be widened only while its loss if "
                   "filled stays within the risk per trade and the disaster stop.")
        _level_control(CommandKind.MOVE_STOP, "stop", ticket.bracket_id, ticket.stop_price,
                       disabled)
        _level_control(CommandKind.MOVE_TARGET, "target", ticket.bracket_id,
                       ticket.target_price, disabled)
        confirm = st.checkbox("Confirm: exit this position at market",
                              key=f"tc_confirm_exit_{ticket.bracket_id}", disabled=disabled)
        st.button("Exit position", key=f"tc_exit_{ticket.bracket_id}", type="primary",
                  disabled=disabled or not confirm, on_click=_queue_exit,
                  args=(ticket.bracket_id,))
    elif ticket.entry is not None:
        entry = ticket.entry
        price = "market" if entry.price is None else fmt.points(entry.price)
        st.markdown(f"Working entry: {entry.side.value} {entry.contracts} at {price}")
        st.button("Cancel entry", key=f"tc_cancel_{entry.bracket_id}", disabled=disabled,
                  on_click=_queue, args=(CommandKind.CANCEL_ENTRY,
                                         {"bracket_id": entry.bracket_id}, "Cancel entry"))
    if disabled and (ticket.bracket_id or ticket.entry):
        st.caption("Controls are off while the bot is not running.")
    _outcome()
    for ts, message in ticket.refusals:
        st.error(f"{zones.fmt_time(ts, zone)}: {plain.escape(message)}")
