"""Remote commands from Telegram: who may ask, what each command does, what it answers.

Only chats in ALERT_TELEGRAM_COMMAND_CHATS are obeyed; anything from another chat is dropped
without a reply and without a ``commands`` row (a stranger could otherwise fill the journal):
it is counted per chat and logged on the 1st, 10th, 100th … message from that chat.
``/halt``, ``/resume`` and ``/flatten`` become rows in the same ``commands`` queue the dashboard
writes, so the bot carries them out exactly as it does the dashboard's; ``/flatten`` only
arms a confirmation, and ``/confirm`` from the same chat within 60 s queues the kill switch.
``/status``, ``/profit``, ``/daily`` and ``/trades`` are answered from the journal and logged
in ``commands`` as done.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.alerts.messages import usd, when
from shared.domain.metrics import trade_stats, trading_day
from shared.domain.models import CommandKind, CommandStatus
from shared.persistence import journal_store, ops_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

CONFIRM_WINDOW = timedelta(seconds=60)
STALE_HEARTBEAT_S = 30
HELP = ("Commands: /status /profit /daily /trades /halt /resume /flatten (then /confirm "
        "within 60 s)")


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer; ``command_id`` is a queued bot command whose outcome follows later."""

    text: str
    command_id: int | None = None


class RemoteCommands:
    """Turns one chat message into a reply and, for actions, a queued bot command."""

    def __init__(self, conn: sqlite3.Connection, allowed: frozenset[int],
                 wall_clock: Callable[[], datetime]) -> None:
        self.conn = conn
        self.allowed = allowed
        self.wall_clock = wall_clock
        self._flatten_armed: dict[int, datetime] = {}
        self.refused: dict[int, int] = {}  # messages dropped per chat outside the allow-list

    def is_allowed(self, chat_id: int) -> bool:
        return chat_id in self.allowed

    def refuse(self, chat_id: int, name: str) -> None:
        """Drop a message from a chat outside the allow-list: count it, log it sparsely."""
        count = self.refused.get(chat_id, 0) + 1
        self.refused[chat_id] = count
        if count == 1 or math.log10(count).is_integer():
            logger.warning("refused %r from chat %s: not in ALERT_TELEGRAM_COMMAND_CHATS "
                           "(%d message(s) from it dropped so far)", name[:40], chat_id, count)

    def handle(self, chat_id: int, text: str) -> Reply | None:
        """Carry out one message; None when the chat is refused (no answer to strangers)."""
        now = self.wall_clock()
        word = text.strip().split(maxsplit=1)[0] if text.strip() else ""
        name = word.split("@", 1)[0].lstrip("/").lower()
        author = f"telegram:{chat_id}"
        if not self.is_allowed(chat_id):
            self.refuse(chat_id, name)
            return None
        armed_until = self._flatten_armed.pop(chat_id, None)
        if name in ("halt", "resume"):
            kind = CommandKind.HALT if name == "halt" else CommandKind.RESUME
            payload = {"reason": f"halted from Telegram (chat {chat_id})"} if name == "halt" else {}
            return self._queue(kind, payload, author, now)
        if name == "flatten":
            self._flatten_armed[chat_id] = now + CONFIRM_WINDOW
            return Reply("Flatten all (kill switch): cancel the pending entry, exit any position "
                         "at the next bar's open and halt entries. Send /confirm within 60 s.")
        if name == "confirm":
            if armed_until is None or now > armed_until:
                return Reply("Nothing to confirm: send /flatten first, then /confirm within "
                             "60 s.")
            return self._queue(CommandKind.FLATTEN, {"halt": True}, author, now)
        answer = {"status": self.status, "profit": self.profit, "daily": self.daily,
                  "trades": self.trades}.get(name)
        if answer is None:
            if name not in ("help", "start"):
                self._log(name or "unknown", now, CommandStatus.FAILED, "unknown command",
                          author, {"text": text[:200]})
            return Reply(HELP)
        reply = answer()
        self._log(name, now, CommandStatus.DONE, reply[:500], author)
        return Reply(reply)

    def outcome(self, command_id: int) -> str | None:
        """The bot's result for a queued command, once it has been carried out."""
        row = ops_store.command_outcome(self.conn, command_id)
        if row is None or row.status == CommandStatus.PENDING:
            return None
        return f"#{command_id} {row.kind} {row.status}: {row.result}"

    def _queue(self, kind: CommandKind, payload: dict, author: str, now: datetime) -> Reply:
        with write_transaction(self.conn):
            command_id = ops_store.enqueue_command(self.conn, kind, now, payload, author=author)
        logger.info("%s queued as command #%d by %s", kind.value, command_id, author)
        return Reply(f"{kind.value} queued as command #{command_id}", command_id)

    def _log(self, kind: str, now: datetime, status: CommandStatus, result: str, author: str,
             payload: dict | None = None) -> None:
        with write_transaction(self.conn):
            ops_store.record_answered_command(self.conn, kind[:40], now, status, result, author,
                                              payload)

    # --- read-only answers --------------------------------------------------------------------

    def status(self) -> str:
        state = ops_store.read_bot_state(self.conn)
        if state is None:
            return "No heartbeat yet: the bot has not run on this journal."
        age_s = (self.wall_clock() - state.heartbeat_at).total_seconds()
        stale = " (stale)" if age_s > STALE_HEARTBEAT_S else ""
        lines = [f"Bot {state.status or 'running'} · {state.mode} {state.symbol} · "
                 f"heartbeat {age_s:.0f} s ago{stale}"]
        if state.position_side:
            lines.append(f"Position {state.position_side.upper()} "
                         f"{state.position_contracts} @ {state.position_entry_price:.2f} "
                         f"· open P&L {usd(state.unrealized_cents)}")
        else:
            lines.append("Position: flat")
        lines.append(f"Today {usd(state.realized_today_cents)} realized · equity "
                     f"{usd(state.equity_cents, False)}")
        lines.append(f"Entries HALTED: {state.halt_reason}" if state.halted
                     else "Entries allowed")
        lines.append(f"Broker {'connected' if state.broker_connected else 'DISCONNECTED'}")
        return "\n".join(lines)

    def profit(self) -> str:
        stats = trade_stats(journal_store.all_trades(self.conn))
        if not stats.trades:
            return "No closed trades yet."
        return (f"All time: {stats.trades} trades · win rate {stats.win_rate:.0%} · net "
                f"{usd(stats.net_pnl_cents)} (commission {usd(stats.commission_cents, False)}) · "
                f"profit factor {stats.profit_factor:.2f}")

    def daily(self, days: int = 7) -> str:
        by_day: dict = defaultdict(list)
        for trade in journal_store.all_trades(self.conn):
            by_day[trading_day(trade.exit_ts)].append(trade.pnl_net_cents)
        if not by_day:
            return "No closed trades yet."
        recent = sorted(by_day)[-days:]
        return "\n".join(f"{day}: {usd(sum(by_day[day]))} in {len(by_day[day])} trades"
                         for day in recent)

    def trades(self, count: int = 5) -> str:
        trades = journal_store.all_trades(self.conn)[-count:]
        if not trades:
            return "No closed trades yet."
        return "\n".join(
            f"{when(t.exit_ts)} {t.side.value} {t.contracts} {t.entry_price:.2f} -> "
            f"{t.exit_price:.2f} ({t.exit_reason.value}) {usd(t.pnl_net_cents)}"
            for t in trades)
