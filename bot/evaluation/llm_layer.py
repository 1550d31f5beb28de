"""``--layer llm``: the replies a live bot journaled, replayed (``--llm replay``), and their
placebo: the same replies at the same times with their answers shuffled among them (seeded).

The placebo keeps how often and when the LLM spoke and how sure it was overall, so it makes as
many confidence nudges (and vetoes, in consensus mode) as the real replies, but points them at
random: what is left of the difference is what the LLM knew.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.llm_replay import open_journal
from bot.backtest.llm_run import BacktestLlm
from bot.core.llm_reply import LlmReply, parse_reply
from shared.config.settings import Settings
from shared.persistence import llm_backtest_store
from shared.persistence.llm_backtest_store import JournalReply

logger = logging.getLogger(__name__)


def journal_rows(path: Path, data: BarData, settings: Settings) -> list[JournalReply]:
    """The journal's replies that may be in force over ``data`` (as ``--llm replay`` reads)."""
    since = data.ts(0) - timedelta(minutes=settings.llm.bias_ttl_minutes)
    until = data.ts(len(data) - 1) + timedelta(seconds=data.bar_seconds)
    conn = open_journal(path)
    try:
        return llm_backtest_store.journal_replies(conn, since, until)
    finally:
        conn.close()


def replay_hook(path: Path, data: BarData, settings: Settings,
                shuffle_seed: int | None = None) -> BacktestLlm:
    """The replay of ``path``'s replies over ``data``; with ``shuffle_seed`` the placebo (each
    reply's answer swapped with another's, a seeded permutation)."""
    parsed: list[tuple[LlmReply, JournalReply]] = []
    for row in journal_rows(path, data, settings):
        reply, problem = parse_reply({"bias": row.bias, "confidence": row.confidence,
                                      "action": row.action})
        if reply is None:
            logger.warning("LLM call %d in the journal skipped: %s", row.call_id, problem)
            continue
        parsed.append((reply, row))
    answers = [reply for reply, _ in parsed]
    if shuffle_seed is not None and answers:
        order = np.random.default_rng(np.random.SeedSequence([shuffle_seed, len(answers)]))
        answers = [answers[i] for i in order.permutation(len(answers)).tolist()]
    hook = BacktestLlm(data, settings, "replay")
    for answer, (_, row) in zip(answers, parsed, strict=True):
        hook.add_reply(answer, row.at, row.call_id, row.at if row.applied else None)
    return hook


def reply_count(path: Path, data: BarData, settings: Settings) -> int:
    """How many journaled replies may be in force over ``data`` (0: nothing to evaluate)."""
    return len(journal_rows(path, data, settings))
