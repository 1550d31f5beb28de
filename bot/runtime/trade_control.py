"""Carry out a trader's per-trade commands: move the stop or target, cancel the entry, exit.

Payloads (all from the dashboard's position card): ``{"bracket_id": ..., "price": 5010.25}``
for ``move_stop`` / ``move_target``, ``{"bracket_id": ...}`` for ``cancel_entry`` and
``exit_position``. The bracket id ties a command to the trade the trader was looking at: a
command for a trade that has closed (or a new one) is refused, never applied to another trade.
Levels are checked by ``bot.core.trade_control`` against the last bar's close. Every outcome
(accepted or refused) is journaled as a ``trade_control`` event; a refusal raises
``CommandRejected`` so the command row fails with the same one line. The broker keeps the old
level whenever it could not take the new one, and the outcome says so.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NoReturn

from bot.core.engine import TradingEngine
from bot.core.trade_control import LevelKind, LevelMove, check_level_move, fmt_price
from shared.domain.errors import BrokerError, CommandRejected
from shared.domain.models import ExitReason, Mode, OrderRole, Position

logger = logging.getLogger(__name__)

EVENT_KIND = "trade_control"


def _journal(engine: TradingEngine, now: datetime, accepted: bool, message: str,
             detail: dict[str, Any]) -> None:
    engine.journal_broker_updates()
    engine.journal.record_event(now, EVENT_KIND, "info" if accepted else "warning",
                                message, {**detail, "accepted": accepted})
    engine.journal.flush()


def _refuse(engine: TradingEngine, now: datetime, message: str,
            detail: dict[str, Any]) -> NoReturn:
    _journal(engine, now, False, f"refused: {message}", detail)
    raise CommandRejected(f"refused: {message}")


def _requested_price(payload: dict[str, Any]) -> float | None:
    """The payload's price as a float ("5,010.25" too), or None when it is not a number."""
    value = payload.get("price")
    if isinstance(value, str):
        try:
            return float(value.replace(",", ""))
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _position_for(engine: TradingEngine, payload: dict[str, Any], now: datetime,
                  detail: dict[str, Any]) -> Position:
    """The open position the command names (its bracket id), or a refusal."""
    position = engine.broker.position()
    wanted = payload.get("bracket_id")
    if position is None:
        _refuse(engine, now, "no open position", detail)
    if wanted is not None and wanted != position.bracket_id:
        _refuse(engine, now, f"trade {wanted} is no longer open (the open one is "
                             f"{position.bracket_id})", detail)
    return position


def move_level(engine: TradingEngine, kind: LevelKind, payload: dict[str, Any],
               now: datetime) -> str:
    """Move the open position's stop or target to the payload's price, within the rule."""
    detail: dict[str, Any] = {"command": f"move_{kind.value}", **payload}
    position = _position_for(engine, payload, now, detail)
    bar = engine.last_bar
    if bar is None:
        _refuse(engine, now, f"no market price yet: cannot check a {kind.value}", detail)
    current = position.stop_price if kind is LevelKind.STOP else position.target_price
    requested = _requested_price(payload)
    if requested is None:
        _refuse(engine, now, f"{kind.value} price {payload.get('price')!r} is not a number "
                             "(the payload needs a \"price\")", detail)
    daily_left_cents = (round(engine.settings.risk.daily_loss_limit_usd * 100)
                        + engine.risk_state.realized_today_cents)
    move = LevelMove(kind, position.side, position.contracts, position.entry_price, bar.close,
                     current, requested, daily_left_cents)
    verdict = check_level_move(move, engine.settings.risk, engine.instrument)
    if not verdict.accepted or verdict.price is None:
        _refuse(engine, now, verdict.message, detail)
    price = verdict.price
    kept = "none" if current is None else fmt_price(current)
    try:
        if kind is LevelKind.STOP:
            engine.broker.move_stop(price, now, ExitReason.STOP)
        else:
            engine.broker.move_target(price, now)
    except BrokerError as exc:
        _refuse(engine, now, f"the broker did not take it ({exc.message}): the {kind.value} "
                             f"stays at {kept}", detail)
    moved = engine.broker.position()
    now_at = None if moved is None else (
        moved.stop_price if kind is LevelKind.STOP else moved.target_price)
    if now_at != price:
        _refuse(engine, now, f"the broker did not take it (see the events): the {kind.value} "
                             f"stays at {kept}", detail)
    message = f"{verdict.message} for {position.side.value} {position.contracts}"
    if engine.settings.broker.mode is not Mode.PAPER:  # IB answers later, asynchronously
        message += (f" (sent to IB as a modification; a refusal is journaled as "
                    f"{kind.value}_modify_rejected)")
    _journal(engine, now, True, message, {**detail, "price": price})
    return message


def cancel_entry(engine: TradingEngine, payload: dict[str, Any], now: datetime) -> str:
    """Cancel the working, unfilled entry (with its stop and target)."""
    detail: dict[str, Any] = {"command": "cancel_entry", **payload}
    entry = next((o for o in engine.broker.working_orders() if o.role is OrderRole.ENTRY), None)
    position = engine.broker.position()
    if position is not None:
        _refuse(engine, now, f"the entry has filled: {position.side.value} "
                             f"{position.contracts} is open (exit the position instead)", detail)
    if entry is None:
        _refuse(engine, now, "no working entry order to cancel", detail)
    wanted = payload.get("bracket_id")
    if wanted is not None and wanted != entry.bracket_id:
        _refuse(engine, now, f"entry {wanted} is no longer working (the working one is "
                             f"{entry.bracket_id})", detail)
    if not engine.broker.connected:
        _refuse(engine, now, "not connected to the broker: the entry stays working", detail)
    if not engine.broker.cancel_entry(now):
        _refuse(engine, now, "the broker had no entry to cancel", detail)
    message = f"cancel sent for the {entry.side.value} {entry.contracts} entry {entry.bracket_id}"
    _journal(engine, now, True, message, detail)
    return message


def exit_position(engine: TradingEngine, payload: dict[str, Any], now: datetime) -> str:
    """Market exit of this position only (entries stay allowed: no halt)."""
    detail: dict[str, Any] = {"command": "exit_position", **payload}
    _position_for(engine, payload, now, detail)
    message = engine.flatten(ExitReason.FLATTEN, now)
    _journal(engine, now, True, message, detail)
    return message
