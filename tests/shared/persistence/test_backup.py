"""Online backups: a restored copy equals the original; bad destinations are refused."""

from __future__ import annotations

import shutil

import pytest

from shared.persistence import journal_store
from shared.persistence.backup import BackupError, backup_file
from shared.persistence.db import connect, write_transaction
from shared.persistence.integrity import quick_check
from tests.conftest import synthetic_bars


def _dump(path):
    conn = connect(path, readonly=True)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_a_restored_backup_equals_the_original_including_rows_still_in_the_wal(conn, tmp_path):
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", synthetic_bars(300))
    db = tmp_path / "t.db"
    assert db.with_name("t.db-wal").stat().st_size > 0  # committed rows not yet checkpointed
    result = backup_file(db, tmp_path / "copy.db")
    assert result.pages > 1 and result.bytes_written == (tmp_path / "copy.db").stat().st_size
    assert not (tmp_path / "copy.db-wal").exists()
    restored = tmp_path / "restored.db"
    shutil.copyfile(tmp_path / "copy.db", restored)
    assert _dump(restored) == _dump(db)
    assert len(_dump(db)) > 300


def test_backups_refuse_a_missing_source_the_source_itself_and_an_existing_file(conn, tmp_path):
    db = tmp_path / "t.db"
    with pytest.raises(BackupError, match="no database at"):
        backup_file(tmp_path / "missing.db", tmp_path / "x.db")
    with pytest.raises(BackupError, match="is the database itself"):
        backup_file(db, db, overwrite=True)
    backup_file(db, tmp_path / "x.db")
    with pytest.raises(BackupError, match="exists: choose another name or pass --force"):
        backup_file(db, tmp_path / "x.db")
    backup_file(db, tmp_path / "x.db", overwrite=True)
    with pytest.raises(BackupError, match="no folder"):
        backup_file(db, tmp_path / "nowhere" / "x.db")


def test_quick_check_gives_up_at_its_time_bound(conn):
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", synthetic_bars(2000))
    report = quick_check(conn, limit_s=0.0)
    assert not report.finished and not report.ok
    assert quick_check(conn, limit_s=30).ok
