"""Polls of what other processes write are skipped only while no other connection committed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.runtime.outside_writes import OutsideWrites
from shared.domain.models import CommandKind
from shared.persistence import ops_store
from shared.persistence.db import open_database, write_transaction

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def test_another_connections_commit_is_seen_once_by_each_reader(tmp_path: Path) -> None:
    bot = open_database(tmp_path / "t.db")
    dashboard = open_database(tmp_path / "t.db")
    outside = OutsideWrites(bot)
    assert outside.since_last("service") and outside.since_last("news")  # first look: poll
    assert not outside.since_last("service") and not outside.since_last("news")
    with write_transaction(bot):  # the bot's own journal writes do not count
        ops_store.insert_event(bot, NOW, "x", "info", "own write", {}, NOW)
    assert not outside.since_last("service")
    with write_transaction(dashboard):
        ops_store.enqueue_command(dashboard, CommandKind.HALT, NOW)
    assert outside.since_last("service")
    assert not outside.since_last("service")
    assert outside.since_last("news")  # each reader learns of it for itself
    assert len(ops_store.pending_commands(bot)) == 1
    bot.close()
    dashboard.close()


def test_a_reader_may_reuse_the_last_probe_and_sees_later_commits_next_time(tmp_path: Path
                                                                            ) -> None:
    bot = open_database(tmp_path / "t.db")
    dashboard = open_database(tmp_path / "t.db")
    outside = OutsideWrites(bot)
    assert outside.since_last("news", fresh=False)  # no probe yet: it probes
    assert outside.since_last("service")
    with write_transaction(dashboard):
        ops_store.enqueue_command(dashboard, CommandKind.HALT, NOW)
    assert not outside.since_last("news", fresh=False)  # the last probe predates the commit
    assert outside.since_last("service")  # a fresh probe sees it ...
    assert outside.since_last("news", fresh=False)  # ... and the reused one from then on
    assert not outside.since_last("news", fresh=False)
    bot.close()
    dashboard.close()
