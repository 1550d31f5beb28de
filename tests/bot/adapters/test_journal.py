"""Journals: SQLite writes a bar's buffered records in one transaction; memory keeps lists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.adapters.journal import MemoryJournal, SqliteJournal
from bot.ports import BrokerUpdates
from shared.persistence import journal_store, ops_store
from shared.persistence.db import connect, open_database
from tests.conftest import synthetic_bars
from tests.support import migrated_journal

AT = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "t.db"
    migrated_journal(path)
    return path


def test_nothing_reaches_the_database_before_flush(db):
    journal = SqliteJournal(open_database(db), now=lambda: AT)
    bars = synthetic_bars(3)
    for bar in bars:
        journal.record_bar("MES", bar)
    journal.record_event(AT, "note", "info", "hello", {"n": 1})
    reader = connect(db, readonly=True)
    assert journal_store.recent_bars(reader, "MES", 10) == []
    journal.flush()
    assert journal_store.recent_bars(reader, "MES", 10) == bars
    assert [e.message for e in ops_store.recent_events(reader)] == ["hello"]
    assert journal.writes == 4


def test_a_failing_record_rolls_back_the_whole_bar(db):
    journal = SqliteJournal(open_database(db), now=lambda: AT)
    journal.record_bar("MES", synthetic_bars(1)[0])
    journal.record_event(AT, "note", "info", "unserialisable", {"x": object()})
    with pytest.raises(TypeError):
        journal.flush()
    assert journal_store.recent_bars(connect(db, readonly=True), "MES", 10) == []


def test_an_empty_flush_opens_no_transaction(db):
    conn = open_database(db)
    journal = SqliteJournal(conn, now=lambda: AT)
    journal.flush()
    assert journal.writes == 0 and not conn.in_transaction


def test_memory_journal_keeps_records_in_order_and_the_latest_position():
    journal = MemoryJournal()
    bars = synthetic_bars(2)
    for bar in bars:
        journal.record_bar("MES", bar)
    journal.record_broker_updates(BrokerUpdates(position_changed=True), "MES", None, {})
    journal.record_event(AT, "note", "info", "m", {})
    assert journal.bars == bars and journal.position is None
    assert journal.events == [(AT, "note", "info", "m", {})]
