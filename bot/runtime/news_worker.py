"""The news program (``python -m bot news``): receive headlines, store each once, score them.

Runs as its own supervisord program, never inside the trading loop (DESIGN rule 10): feeds,
IB news and Comprehend are network I/O whose stalls must not touch a bar. Sources hand
headlines to an in-memory inbox; every ``score_poll_seconds`` the inbox is stored (duplicates
dropped by source and normalised text within the window) and every unscored row - typed ones
from the dashboard included - is scored in a worker thread. The bot reads scored rows from
SQLite between bars. One SQLite connection, used by one step at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.ports import HeadlineSource, SentimentScorer
from shared.config.settings import NewsConfig
from shared.domain.news import Headline
from shared.persistence import news_store, ops_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

SCORE_BATCH = 100
PAUSE_AFTER_FAILURE_S = 60.0
PRUNE_EVERY_S = 3600.0


class NewsWorker:
    """Stores what the sources receive and scores it; ``run`` until the stop event is set."""

    def __init__(self, cfg: NewsConfig, conn: sqlite3.Connection, sources: list[HeadlineSource],
                 scorer: SentimentScorer, fallback: SentimentScorer | None,
                 wall_clock: Callable[[], datetime]) -> None:
        self.cfg = cfg
        self.conn = conn
        self.sources = sources
        self.scorer = scorer
        self.fallback = fallback
        self.wall_clock = wall_clock
        self.inbox: list[Headline] = []
        self.problems: list[tuple[str, str]] = []
        self.stored = self.duplicates = self.scored = 0
        self._score_paused_until = 0.0
        self._last_prune_s = float("-inf")

    def receive(self, headlines: list[Headline]) -> None:
        """Take headlines from a source (called on the event loop)."""
        self.inbox.extend(headlines)

    def report(self, source: str, message: str) -> None:
        """Take a source's new problem (called on the event loop); recorded by ``cycle``."""
        self.problems.append((source, message))

    def store_pending(self) -> int:
        """Store the inbox, dropping duplicates; return how many rows are new."""
        pending, self.inbox = self.inbox, []
        if not pending:
            return 0
        window = timedelta(minutes=self.cfg.dedupe_window_minutes)
        with write_transaction(self.conn):
            ids = [news_store.store_if_new(self.conn, h, window) for h in pending]
        new = sum(1 for i in ids if i is not None)
        self.stored += new
        self.duplicates += len(pending) - new
        if new:
            logger.info("stored %d new headline(s), %d duplicate(s) dropped", new,
                        len(pending) - new)
        return new

    def import_headlines(self, items: list[tuple[Headline, float | None]]) -> tuple[int, int]:
        """Store headlines with their given scores (None: scored next); return (new, dups)."""
        window = timedelta(minutes=self.cfg.dedupe_window_minutes)
        with write_transaction(self.conn):
            ids = [news_store.store_if_new(self.conn, h, window) for h, _ in items]
            given = [news_store.Score(i, score, "csv") for i, (_, score) in zip(ids, items,
                                                                               strict=True)
                     if i is not None and score is not None]
            news_store.set_scores(self.conn, given, self.wall_clock())
        new = sum(1 for i in ids if i is not None)
        return new, len(items) - new

    def score_pending(self) -> int:
        """Score unscored rows (blocking: the scorer may call out); return how many got one."""
        if time.monotonic() < self._score_paused_until:
            return 0
        done = 0
        while True:
            rows = news_store.unscored(self.conn, SCORE_BATCH)
            if not rows:
                return done
            result = self.scorer.score([r.headline for r in rows])
            for problem in result.problems:
                logger.warning("scoring: %s", problem)
            scores = [news_store.Score(r.id, s, result.scorer)
                      for r, s in zip(rows, result.scores, strict=True) if s is not None]
            missing = [r for r, s in zip(rows, result.scores, strict=True) if s is None]
            if missing and self.fallback is not None:
                backup = self.fallback.score([r.headline for r in missing])
                scores += [news_store.Score(r.id, s, f"{backup.scorer} (fallback)")
                           for r, s in zip(missing, backup.scores, strict=True) if s is not None]
            with write_transaction(self.conn):
                stored = news_store.set_scores(self.conn, scores, self.wall_clock())
            done += stored
            self.scored += stored
            if len(scores) < len(rows):
                self._score_paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_S
                logger.warning("%d headline(s) left unscored; scoring again in %g s",
                               len(rows) - len(scores), PAUSE_AFTER_FAILURE_S)
                return done

    def prune(self) -> int:
        """Delete headlines past the retention (once an hour)."""
        if time.monotonic() - self._last_prune_s < PRUNE_EVERY_S:
            return 0
        self._last_prune_s = time.monotonic()
        before = self.wall_clock() - timedelta(days=self.cfg.retention_days)
        with write_transaction(self.conn):
            return news_store.prune_news(self.conn, before)

    def record_problems(self) -> int:
        """Event rows for the dashboard: each new problem a source reported."""
        problems, self.problems = self.problems, []
        if not problems:
            return 0
        now = self.wall_clock()
        with write_transaction(self.conn):
            for source, message in problems:
                ops_store.insert_event(self.conn, now, "news_source", "warning",
                                       f"{source}: {message}"[:500], {"source": source}, now)
        return len(problems)

    async def cycle(self) -> None:
        """Record problems, store the inbox, score in a worker thread, prune when due."""
        self.record_problems()
        self.store_pending()
        await asyncio.to_thread(self.score_pending)
        self.prune()

    async def run(self, stop: asyncio.Event) -> int:
        """Run every source and the store/score cycle until ``stop``; return the exit code 0."""
        tasks = [asyncio.create_task(source.run(self.receive, self.report, stop),
                                     name=source.name)
                 for source in self.sources]
        logger.info("news program running: sources %s, scorer %s",
                    ", ".join(s.name for s in self.sources) or "none (typed headlines only)",
                    self.scorer.name)
        try:
            while not stop.is_set():
                await self.cycle()
                for task in [t for t in tasks if t.done()]:
                    tasks.remove(task)
                    if not task.cancelled() and task.exception() is not None:
                        logger.error("news source %s failed: %r", task.get_name(),
                                     task.exception())
                        self.report(task.get_name(), repr(task.exception()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.cfg.score_poll_seconds)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.record_problems()
            self.store_pending()
        logger.info("news program stopped: %d stored, %d duplicates, %d scored", self.stored,
                    self.duplicates, self.scored)
        return 0


async def run_news_program(worker: NewsWorker) -> int:
    """Run the worker until SIGTERM/SIGINT; return the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return await worker.run(stop)
