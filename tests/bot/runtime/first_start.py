"""Play a paper bot's first start in bar time: what a user sees in its first minutes.

A fresh journal, the built-in market warm-started at a chosen "now" (``open_bar_source`` with a
fixed clock), then the real live loop's ``warm_start`` and ``process_bar`` on each following
bar, without waiting for the wall clock: fifteen minutes of market in well under a second.
Used by tests/bot/runtime/test_first_start.py and benchmarks/bench_first_trade.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.composition import paper_broker
from bot.runtime.bar_source import open_bar_source, warm_start_bars
from bot.runtime.live import LiveBot
from shared.config.settings import Settings
from shared.persistence import codec, journal_store


@dataclass(frozen=True)
class FirstStart:
    """When the first decision and the first order came, in bar time (decision times)."""

    now: datetime
    history_bars: int
    journaled_bars: int
    first_decision: datetime | None
    first_decision_warming_up: bool
    first_order: datetime | None
    decisions: int
    entries: int
    reasons_of_first_decision: tuple[str, ...]


def _warming_up(row: dict) -> bool:
    regime = json.loads(row["regime_json"])
    votes = json.loads(row["votes_json"])
    return any(reason.startswith("warming up") for reason in regime["reasons"]) or any(
        "warming up" in vote["reasons"] for vote in votes)


def play_first_start(settings: Settings, db: Path, now: datetime, minutes: float) -> FirstStart:
    """Start a bot on an empty ``db`` at ``now`` and play ``minutes`` of bars after it."""
    bot = LiveBot(settings, db, "first start", paper_broker)
    try:
        source = open_bar_source(settings.feed, None, lambda: now, warm_start_bars(settings))
        if source.history:
            bot.warm_start(source.history)
        end = now + timedelta(minutes=minutes)
        for bar in source.bars:
            if bar.ts >= end:
                break
            bot.process_bar(bar)
        rows = list(reversed(journal_store.recent_decisions(bot.conn, 1_000_000)))
        journaled = len(journal_store.recent_bars(bot.conn, bot.symbol, 1_000_000))
    finally:
        bot.llm.stop()
        bot.conn.close()
    entries = [row for row in rows if row["verdict"] == "enter"]
    first = rows[0] if rows else None
    return FirstStart(
        now=now,
        history_bars=len(source.history),
        journaled_bars=journaled,
        first_decision=codec.from_text(first["ts"]) if first else None,
        first_decision_warming_up=_warming_up(first) if first else False,
        first_order=codec.from_text(entries[0]["ts"]) if entries else None,
        decisions=len(rows),
        entries=len(entries),
        reasons_of_first_decision=tuple(json.loads(first["reasons_json"])) if first else (),
    )
