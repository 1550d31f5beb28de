"""Learned rules from SQLite into the engine's ``RuleBook``: approved and unexpired only.

A stored rule whose parameters do not parse is skipped with a reason (it never stops the bot,
and it never acts); the same loader serves the live bot and backtests.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime

from bot.core.rules import RuleBook
from shared.domain.rules import LearnedRule, RuleError, RuleStatus, parse_rule
from shared.persistence import rules_store
from shared.persistence.rules_store import RuleRow

logger = logging.getLogger(__name__)


def learned_rule(row: RuleRow) -> LearnedRule:
    """The engine's rule for a stored row; RuleError when its parameters are malformed."""
    return parse_rule(row.id, row.kind, row.params_json, row.expires_at)


def book_from_rows(rows: list[RuleRow], version: str) -> tuple[RuleBook, list[str]]:
    """A rule book of the rows that parse, and one problem line per row that does not."""
    parsed, problems = [], []
    for row in rows:
        try:
            parsed.append(learned_rule(row))
        except RuleError as exc:
            problems.append(f"rule #{row.id} skipped: {exc}")
    return RuleBook(tuple(sorted(parsed, key=lambda r: r.rule_id)), version), problems


def approved_book(conn: sqlite3.Connection, now: datetime) -> tuple[RuleBook, list[str]]:
    """Approved rules that have not expired by ``now`` (wall clock), and any skipped."""
    version = str(rules_store.rules_version(conn))
    rows = [r for r in rules_store.rules(conn, (RuleStatus.APPROVED,)) if r.expires_at > now]
    book, problems = book_from_rows(rows, version)
    for problem in problems:
        logger.warning("%s", problem)
    return book, problems
