"""The live journal's WAL checkpoints: run between bars when due, never inside a transaction,
and they keep the WAL file bounded (without them it grows with every bar)."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.domain.models import Bar
from shared.persistence import journal_store
from shared.persistence.db import write_transaction
from shared.persistence.wal_checkpoint import BACKSTOP_AUTOCHECKPOINT_PAGES, WalCheckpointer
from tests.support import open_migrated_journal

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def write_bars(conn: sqlite3.Connection, first: int, count: int,
               checkpointer: WalCheckpointer | None = None) -> None:
    """One transaction a bar, as the live journal writes; the checkpointer asked after each."""
    for i in range(first, first + count):
        with write_transaction(conn):
            journal_store.insert_bar(conn, "MES", Bar(T0 + timedelta(seconds=5 * i),
                                                      5000.0, 5001.0, 4999.0, 5000.5, 10 + i))
        if checkpointer is not None:
            checkpointer.maybe_checkpoint()


def wal_bytes(db: Path) -> int:
    return os.path.getsize(f"{db}-wal")


def test_the_automatic_checkpoint_becomes_a_backstop(conn):
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000  # SQLite's default
    WalCheckpointer(conn)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == (
        BACKSTOP_AUTOCHECKPOINT_PAGES)


def test_due_after_enough_changed_rows_and_then_the_whole_wal_is_in_the_database(conn):
    clock = FakeClock()
    checkpointer = WalCheckpointer(conn, every_changes=50, every_s=60.0, clock=clock)
    write_bars(conn, 0, 49)
    assert checkpointer.maybe_checkpoint() is None
    write_bars(conn, 49, 1)
    result = checkpointer.maybe_checkpoint()
    assert result is not None and not result.busy
    assert result.wal_frames > 0 and result.checkpointed_frames == result.wal_frames
    assert checkpointer.maybe_checkpoint() is None  # nothing written since
    assert checkpointer.checkpoints == 1


def test_due_after_the_period_only_when_something_was_written(conn):
    clock = FakeClock()
    checkpointer = WalCheckpointer(conn, every_changes=1000, every_s=1.0, clock=clock)
    clock.now_s += 5.0
    assert checkpointer.maybe_checkpoint() is None  # idle: no fsync for nothing
    write_bars(conn, 0, 1)
    assert checkpointer.maybe_checkpoint() is not None  # the period passed while idle
    write_bars(conn, 1, 1)
    clock.now_s += 0.5
    assert checkpointer.maybe_checkpoint() is None
    clock.now_s += 0.5
    assert checkpointer.maybe_checkpoint() is not None


def test_never_inside_an_open_transaction(conn):
    checkpointer = WalCheckpointer(conn, every_changes=1)
    write_bars(conn, 0, 3)
    with write_transaction(conn):
        assert checkpointer.maybe_checkpoint() is None
    assert checkpointer.maybe_checkpoint() is not None


def test_the_wal_stays_bounded_over_a_long_run_and_grows_without_the_checkpoints(tmp_path):
    bars = 3000
    kept, grown = tmp_path / "kept.db", tmp_path / "grown.db"
    with_checkpoints, without = open_migrated_journal(kept), open_migrated_journal(grown)
    write_bars(with_checkpoints, 0, bars, WalCheckpointer(with_checkpoints, every_changes=100))
    WalCheckpointer(without)  # the backstop only, never asked
    write_bars(without, 0, bars)
    page_bytes = 4096 + 24  # a WAL frame: SQLite's default page and the frame header
    bound_bytes = 400 * page_bytes  # 100 rows a checkpoint, a few pages a row at most
    assert wal_bytes(kept) <= bound_bytes
    assert wal_bytes(grown) > 4 * bound_bytes
    assert len(journal_store.recent_bars(with_checkpoints, "MES", 2 * bars)) == bars
    with_checkpoints.close()
    without.close()
