"""Scored headlines from SQLite into the engine's sentiment book, between bars (no network).

With ``news.enabled`` the engine passes the rolling sentiment to the strategies. At start every
scored row is loaded (the news program keeps only ``retention_days`` of them, so the book stays
small and is never pruned); before each bar the rows scored since are added (one indexed
query). Only headlines received by a bar's time count for that bar, so a late-scored row changes
later bars only, as in a backtest of the same rows.
"""

from __future__ import annotations

import logging
import sqlite3

from bot.core.engine import TradingEngine
from bot.core.sentiment import HeadlineScore
from shared.persistence import news_store

logger = logging.getLogger(__name__)


def as_scores(rows: list[news_store.ScoredHeadline]) -> list[HeadlineScore]:
    """Book entries for scored rows (keyed by row id)."""
    return [HeadlineScore(r.received_at, r.score, ("news", r.id)) for r in rows]


class NewsIntake:
    """Follows ``scored_seq`` in the news table and feeds the engine."""

    def __init__(self, conn: sqlite3.Connection, engine: TradingEngine) -> None:
        self.conn = conn
        self.engine = engine
        self.enabled = engine.settings.news.enabled
        self.last_seq = 0
        if self.enabled:
            engine.use_sentiment()
            loaded = self.poll()
            logger.info("sentiment on: %d scored headline(s) loaded", loaded)

    def poll(self) -> int:
        """Add rows scored since the last poll; return how many."""
        if not self.enabled:
            return 0
        added = 0
        while True:
            rows = news_store.scored_after(self.conn, self.last_seq)
            if not rows:
                return added
            self.last_seq = rows[-1].scored_seq
            added += self.engine.add_headlines(as_scores(rows))

