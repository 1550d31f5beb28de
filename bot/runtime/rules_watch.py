"""The live bot's learned rules: loaded at start, reloaded when any rule changes.

Polled on every service pass like the config reload: one ``MAX(id)`` query; when the version
moved (a person approved, rejected or expired a rule, or the review wrote one) the approved,
unexpired rules are loaded again and handed to the engine for its next decision. The open
bracket keeps the shorter time exit a rule gave it at entry, across restarts too.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime

from bot.adapters.rule_book import approved_book
from bot.core.engine import TradingEngine
from shared.persistence import rules_store

logger = logging.getLogger(__name__)


class RulesWatcher:
    """Keeps ``engine.rules`` equal to the approved, unexpired rules in the database."""

    def __init__(self, conn: sqlite3.Connection, engine: TradingEngine, wall_now: datetime):
        self.conn = conn
        self.engine = engine
        self._version: int | None = None
        position = engine.broker.position()
        if position is not None:
            hold = rules_store.entry_rule_hold(conn, position.bracket_id)
            if hold is not None:
                engine.restore_rule_hold(position.bracket_id, hold)
        self.poll(engine.last_bar.ts if engine.last_bar else wall_now, wall_now)

    def poll(self, engine_now: datetime, wall_now: datetime, outside_writes: bool = True) -> int:
        """Reload if any rule changed or one in force expired; return 1 when reloaded.

        ``outside_writes`` False (no other connection committed since the last poll: rules
        are written by the dashboard and the review) skips the version query.
        """
        expired = any(r.expires_at <= wall_now for r in self.engine.rules.rules)
        if not outside_writes and not expired:
            return 0
        version = rules_store.rules_version(self.conn)
        if version == self._version and not expired:
            return 0
        self._version = version
        book, problems = approved_book(self.conn, wall_now)
        before = {r.rule_id for r in self.engine.rules.rules}
        self.engine.set_rules(book)
        now_ids = [r.rule_id for r in book.rules]
        if set(now_ids) == before and not problems:
            return 0
        listed = ", ".join(r.describe() for r in book.rules) or "none"
        message = f"learned rules in force: {listed}"
        logger.info("%s", message)
        journal = self.engine.journal
        journal.record_event(engine_now, "rules_reloaded", "info", message[:1000],
                             {"rule_ids": now_ids, "version": version, "skipped": problems})
        journal.flush()
        return 1
