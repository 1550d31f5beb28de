"""The LLM replies the live bot really had, for the review's gate runs.

Only replies the live bot journaled putting in force (``llm_result`` events) are replayed, at
the engine time it applied them, so the gate's "without the rule" run sees the bias the bot
saw. One-off analyses no bot applied are left out. Each run gets a fresh hook (a hook is used
up by its run); the journal is read once per review.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.backtest.data import BarData
from bot.backtest.llm_run import BacktestLlm
from bot.core.llm_reply import LlmReply, parse_reply
from shared.config.settings import Settings
from shared.persistence import llm_backtest_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GateReply:
    """One reply the live bot applied, at the engine time it applied it."""

    reply: LlmReply
    at: datetime
    call_id: int


GateReplies = tuple[GateReply, ...]


def applied_replies(conn: sqlite3.Connection, data: BarData, settings: Settings) -> GateReplies:
    """The replies the live bot put in force over ``data`` (and one bias lifetime before)."""
    if not llm_backtest_store.has_call_log(conn):
        return ()
    since = data.ts(0) - timedelta(minutes=settings.llm.bias_ttl_minutes)
    until = data.ts(len(data) - 1) + timedelta(seconds=data.bar_seconds)
    found = []
    for row in llm_backtest_store.journal_replies(conn, since, until):
        if not row.applied:
            continue
        reply, problem = parse_reply({"bias": row.bias, "confidence": row.confidence,
                                      "action": row.action})
        if reply is None:
            logger.warning("LLM call %d skipped by the gate: %s", row.call_id, problem)
            continue
        found.append(GateReply(reply, row.at, row.call_id))
    return tuple(found)


def replay_hook(data: BarData, settings: Settings, replies: GateReplies) -> BacktestLlm:
    """A fresh hook that puts ``replies`` in force as the live bot did."""
    hook = BacktestLlm(data, settings, "replay")
    for item in replies:
        hook.add_reply(item.reply, item.at, item.call_id, item.at)
    return hook
