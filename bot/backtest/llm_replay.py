"""``--llm replay``: the replies a live bot had, at the times it had them, for zero dollars.

The journal is opened read-only, so a replay adds no ``llm_calls`` row and makes no request.
A reply the live bot journaled putting in force (an ``llm_result`` event) counts from that
event's engine time, exactly as live, so a backtest over the bars the bot traded gives the
same bias at the same bars; a reply no bot applied (a one-off analysis) counts from its
call's ``settled_at``. Replies up to one bias lifetime before the first bar are kept: they
may still be in force when the backtest starts.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from bot.backtest.data import BarData
from bot.backtest.llm_gate_replay import GateReplay
from bot.backtest.llm_run import BacktestLlm, due_index, engine_time_at
from bot.core.llm_reply import parse_reply
from bot.runtime.llm_ledger import JournalLedger
from shared.config.settings import Settings
from shared.domain.errors import ConfigError
from shared.persistence import llm_backtest_store, llm_gate_store
from shared.persistence.db import connect

logger = logging.getLogger(__name__)


def open_journal(path: Path) -> sqlite3.Connection:
    """The journal, read-only; ConfigError when it is missing or has no LLM call log."""
    if not path.is_file():
        raise ConfigError(f"--llm-journal {path}: no such database file")
    try:
        conn = connect(path, readonly=True)
        usable = llm_backtest_store.has_call_log(conn)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"--llm-journal {path}: not a usable SQLite database ({exc})") from None
    if not usable:
        conn.close()
        raise ConfigError(f"--llm-journal {path}: no LLM call log (llm_calls) in it")
    return conn


def journal_llm(path: Path, data: BarData, settings: Settings) -> BacktestLlm:
    """A hook replaying the journal's replies over ``data``."""
    hook = BacktestLlm(data, settings, "replay")
    since = data.ts(0) - timedelta(minutes=settings.llm.bias_ttl_minutes)
    until = data.ts(len(data) - 1) + timedelta(seconds=data.bar_seconds)
    conn = open_journal(path)
    applied = 0
    try:
        replies = llm_backtest_store.journal_replies(conn, since, until)
        ledger = JournalLedger(conn) if settings.llm.skill_scaled else None
        for row in replies:
            reply, problem = parse_reply({"bias": row.bias, "confidence": row.confidence,
                                          "action": row.action})
            if reply is None:
                logger.warning("LLM call %d in the journal skipped: %s", row.call_id, problem)
                continue
            issued = row.at if row.applied else engine_time_at(data, row.at)
            skill = (ledger.skill_at(issued, settings.llm.skill_min_calls)
                     if ledger is not None else 1.0)  # as the live bot measured it then
            hook.add_reply(reply, row.at, row.call_id, row.at if row.applied else None, skill)
            applied += row.applied
        hook.gate = replay_gate_answers(conn, data, since, until)
    finally:
        conn.close()
    hook.source_cost_usd = sum(row.cost_usd for row in replies)
    logger.info("LLM replay from %s: %d replies in range (%d as the live bot applied them, "
                "%d from their settled_at), bought for $%.4f; this run costs $0", path,
                len(replies), applied, len(replies) - applied, hook.source_cost_usd)
    return hook


def replay_gate_answers(conn: sqlite3.Connection, data: BarData, since: datetime,
                        until: datetime) -> GateReplay:
    """The per-signal gate's journaled answers, due at the bars the live bot took them."""
    gate = GateReplay()
    for row in llm_gate_store.gate_answers(conn, since, until):
        gate.add(row, due_index(data, row.at))
    return gate
