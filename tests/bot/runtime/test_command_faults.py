"""A command that fails is marked failed; a journal that fails under it is a journal fault."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.runtime.commands import process_pending_commands
from shared.domain.models import CommandKind
from shared.persistence import ops_store
from shared.persistence.db import write_transaction

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


class FailingEngine:
    """Stands in for TradingEngine: ``halt`` raises the given error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def halt(self, reason: str, now: datetime) -> None:
        raise self.error


def test_a_command_that_raises_is_marked_failed_and_the_loop_goes_on(conn):
    with write_transaction(conn):
        command_id = ops_store.enqueue_command(conn, CommandKind.HALT, NOW)
    assert process_pending_commands(conn, FailingEngine(ValueError("odd")), NOW, NOW) == 1
    outcome = ops_store.command_outcome(conn, command_id)
    assert outcome.status == "failed" and "ValueError: odd" in outcome.result


def test_a_journal_write_failing_under_a_command_is_raised_not_swallowed(conn):
    with write_transaction(conn):
        command_id = ops_store.enqueue_command(conn, CommandKind.HALT, NOW)
    full = sqlite3.OperationalError("database or disk is full")
    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        process_pending_commands(conn, FailingEngine(full), NOW, NOW)
    assert ops_store.command_outcome(conn, command_id).status == "pending"
