"""The journal file watched under a running bot: deleted, replaced, WAL removed, overwritten."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest

from bot.runtime.journal_watch import (
    JournalDamaged,
    JournalFileFault,
    JournalWatch,
    check_at_start,
)
from shared.persistence import journal_store
from shared.persistence.db import connect, open_database, write_transaction
from tests.conftest import synthetic_bars

NOW = datetime(2026, 12, 7, 18, 30, tzinfo=UTC)


@pytest.fixture
def journal(tmp_path):
    db = tmp_path / "trader.db"
    conn = open_database(db)
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", synthetic_bars(50))
    yield db, conn
    conn.close()


def _check(watch, conn):
    watch.check(conn, lambda: "no open position")


def _watch(db):
    return JournalWatch(db, lambda: NOW, every_s=0.0)


def test_an_untouched_journal_passes_and_keeps_passing_as_it_grows(journal):
    db, conn = journal
    watch = _watch(db)
    _check(watch, conn)
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", synthetic_bars(500, seed=9)[60:])
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the main file grows; same inode
    _check(watch, conn)


def test_a_deleted_database_stops_the_bot_and_its_rows_are_saved_beside_it(journal):
    db, conn = journal
    watch = _watch(db)
    db.unlink()
    with pytest.raises(JournalFileFault) as fault:
        _check(watch, conn)
    rescue = db.with_name("trader.db.rescued-20261207T183000Z")
    line = fault.value.line()
    assert line == (f"error: journal file trader.db was deleted while the bot ran; its last "
                    f"state is saved in {rescue} (move it back to resume) at {db}: stopping new "
                    "entries; no open position; exit 3")
    saved = connect(rescue, readonly=True)
    try:
        assert len(journal_store.recent_bars(saved, "MES", 1000)) == 50
    finally:
        saved.close()


def test_a_file_moved_over_the_database_is_noticed(journal, tmp_path):
    db, conn = journal
    watch = _watch(db)
    shutil.copyfile(db, tmp_path / "old.db")
    os.replace(tmp_path / "old.db", db)
    with pytest.raises(JournalFileFault, match="trader.db was replaced by another file"):
        _check(watch, conn)


def test_a_deleted_wal_is_noticed(journal):
    db, conn = journal
    watch = _watch(db)
    db.with_name("trader.db-wal").unlink()
    with pytest.raises(JournalFileFault, match="trader.db-wal was deleted"):
        _check(watch, conn)


def test_a_smaller_file_copied_over_the_database_in_place_is_noticed(journal, tmp_path):
    db, conn = journal
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    watch = _watch(db)
    with db.open("r+b") as file:  # what `cp small.db trader.db` does: same inode, truncated
        file.truncate(4096)
    with pytest.raises(JournalFileFault, match="shrank from"):
        _check(watch, conn)


def test_checks_are_spaced_out(journal):
    db, conn = journal
    watch = JournalWatch(db, lambda: NOW, every_s=3600)
    db.unlink()
    _check(watch, conn)  # not due yet: nothing looked at


def test_a_damaged_journal_is_refused_at_start_with_one_line(journal):
    db, conn = journal
    conn.close()
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:page_size + 8] = b"\x00" * 8  # page 2's b-tree header
    db.write_bytes(bytes(data))
    db.with_name("trader.db-wal").unlink(missing_ok=True)
    with pytest.raises(JournalDamaged) as damaged:
        check_at_start(db)
    line = damaged.value.line()
    assert line.startswith(f"error: journal integrity check failed at {db}: ")
    assert line.endswith("exit 3") and "\n" not in line


def test_a_sound_or_new_journal_passes_the_start_check(journal, tmp_path):
    db, _ = journal
    check_at_start(db)
    check_at_start(tmp_path / "new.db")
