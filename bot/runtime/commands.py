"""Carry out queued dashboard commands (``flatten``, ``halt``, ``resume``, ``trigger_llm``, and
the per-trade ``move_stop``, ``move_target``, ``cancel_entry``, ``exit_position`` of
``bot.runtime.trade_control``).

``flatten`` is the kill switch: it cancels a pending entry, exits any position at the next bar's
open and halts new entries, unless its payload says ``{"halt": false}``. An unknown command is
marked failed with a message naming the kinds the bot knows; it never stops the loop. A journal
write that fails while carrying a command out is a journal fault, not a failed command.
``trigger_llm`` queues a manual analysis on the LLM worker; its result is written to the row later.
A hook may raise ``CommandRejected`` (e.g. no decision yet): the row fails with that message.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from typing import Any, Protocol, assert_never

from bot.core.engine import TradingEngine
from bot.core.trade_control import LevelKind
from bot.runtime import trade_control
from bot.runtime.faults import is_journal_error
from shared.domain.errors import CommandRejected
from shared.domain.models import CommandKind, CommandStatus, ExitReason
from shared.persistence import ops_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)


class LlmTriggerHook(Protocol):
    """What ``trigger_llm`` needs from the live bot's LLM service."""

    def manual(self, payload: dict[str, Any], command_id: int, now: datetime) -> str: ...


def execute_command(
    engine: TradingEngine, command: ops_store.CommandRow, now: datetime,
    llm: LlmTriggerHook | None = None,
) -> tuple[CommandStatus, str]:
    """Apply one command to the engine; return its status and a message for the dashboard."""
    try:
        kind = CommandKind(command.kind)
    except ValueError:
        known = ", ".join(k.value for k in CommandKind)
        return CommandStatus.FAILED, f"unknown command {command.kind!r}; known: {known}"
    match kind:
        case CommandKind.HALT:
            reason = str(command.payload.get("reason") or "halted from the dashboard")
            engine.halt(reason, now)
            return CommandStatus.DONE, f"entries halted: {reason}"
        case CommandKind.RESUME:
            engine.resume(now)
            return CommandStatus.DONE, "entries resumed"
        case CommandKind.TRIGGER_LLM:
            if llm is None:
                return CommandStatus.FAILED, "this bot has no LLM worker"
            return CommandStatus.DONE, llm.manual(command.payload, command.command_id, now)
        case CommandKind.FLATTEN:
            return CommandStatus.DONE, _flatten(engine, command.payload, now)
        case CommandKind.MOVE_STOP | CommandKind.MOVE_TARGET:
            level = LevelKind.STOP if kind is CommandKind.MOVE_STOP else LevelKind.TARGET
            return CommandStatus.DONE, trade_control.move_level(engine, level, command.payload,
                                                                now)
        case CommandKind.CANCEL_ENTRY:
            return CommandStatus.DONE, trade_control.cancel_entry(engine, command.payload, now)
        case CommandKind.EXIT_POSITION:
            return CommandStatus.DONE, trade_control.exit_position(engine, command.payload, now)
        case _:
            assert_never(kind)


def _flatten(engine: TradingEngine, payload: dict[str, Any], now: datetime) -> str:
    also_halt = payload.get("halt", True) is not False
    reason = ExitReason.KILL_SWITCH if also_halt else ExitReason.FLATTEN
    message = engine.flatten(reason, now)
    if also_halt:
        engine.halt("kill switch: flatten command", now)
        message += "; entries halted"
    return message


def process_pending_commands(
    conn: sqlite3.Connection, engine: TradingEngine, now: datetime, wall_now: datetime,
    llm: LlmTriggerHook | None = None,
) -> int:
    """Execute every pending command in order; return how many were handled."""
    commands = ops_store.pending_commands(conn)
    for command in commands:
        try:
            status, message = execute_command(engine, command, now, llm)
        except CommandRejected as exc:  # an expected refusal: its message is the whole story
            status, message = CommandStatus.FAILED, str(exc)
        except Exception as exc:  # a bad command must never stop trading
            if is_journal_error(exc):
                raise  # but a journal that cannot be written does (bot/faults.py)
            logger.exception("command %s failed", command.command_id)
            status, message = CommandStatus.FAILED, f"{type(exc).__name__}: {exc}"
        logger.info("command %s %s: %s", command.command_id, command.kind, message)
        with write_transaction(conn):
            ops_store.complete_command(conn, command.command_id, status, message, wall_now)
    return len(commands)
