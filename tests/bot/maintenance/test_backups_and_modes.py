"""Nightly backups (restore gives the same journal; a kept count) and owner-only files (0600)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.maintenance.backups import backup_name, backups_in, nightly_backup, rotate
from bot.maintenance.nightly import run_maintenance
from bot.runtime.journal_lock import acquire
from shared.config.maintenance import MaintenanceConfig
from shared.config.settings import Settings
from shared.persistence import config_source, db_size_store, journal_store
from shared.persistence.db import connect, open_database, write_transaction
from shared.persistence.lock_file import lock_path
from tests.bot.maintenance.journal_rows import NOW, add_alert, add_decision, add_event, add_llm_call
from tests.conftest import synthetic_bars

ROOT = Path(__file__).resolve().parents[3]
DAY = timedelta(days=1)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def dump(path: Path, leave_out: str = "db_maintenance") -> list[str]:
    """The journal as SQL text, without the maintenance run's own record."""
    conn = connect(path, readonly=True)
    try:
        return [line for line in conn.iterdump() if leave_out not in line]
    finally:
        conn.close()


def journal(conn) -> None:
    """A journal with rows in every retained table, some older than any retention."""
    with write_transaction(conn):
        journal_store.insert_bars(conn, "MES", synthetic_bars(200))
    for days in (40, 20, 1):
        add_decision(conn, NOW - days * DAY)
        add_decision(conn, NOW - days * DAY, bracket_id=f"B{days}")
        add_event(conn, NOW - days * DAY)
        add_llm_call(conn, NOW - days * DAY)
        add_alert(conn, NOW - days * DAY, f"k{days}")


@pytest.mark.unit
def test_a_nightly_backup_restored_gives_a_journal_equal_to_the_original(conn, tmp_path):
    journal(conn)
    db = tmp_path / "t.db"
    config = MaintenanceConfig(decisions_days=7, backup_keep=3)
    report = run_maintenance(db, config, NOW)
    assert report.problems == [] and report.deleted["decisions"] == 2  # the 40/20-day HOLDs
    backup = Path(report.backup_path)
    assert backup.parent == tmp_path / "backups" and mode(backup) == 0o600
    conn.close()
    original = dump(db)
    # Restore as the docs say: bot stopped, the copy moved over the database, -wal/-shm removed.
    restored_db = tmp_path / "restored" / "t.db"
    restored_db.parent.mkdir()
    shutil.copyfile(backup, restored_db)
    assert dump(restored_db) == original
    assert sum("INSERT INTO \"decisions\"" in line for line in original) == 4
    reader = connect(db, readonly=True)
    [run] = db_size_store.recent_runs(reader)
    reader.close()
    assert run.status == "done" and run.backup_path == str(backup)
    assert run.tables["decisions"]["rows"] == 4 and run.tables["decisions"]["bytes"] > 0
    assert run.deleted["decisions"] == 2 and run.file_bytes == db.stat().st_size


@pytest.mark.unit
def test_backups_beyond_the_kept_count_are_removed_oldest_first(conn, tmp_path):
    db, folder = tmp_path / "t.db", tmp_path / "b"
    made = [nightly_backup(db, folder, 3, NOW + i * DAY).path for i in range(5)]
    (folder / "notes.txt").write_text("mine")  # not a backup: never touched
    assert backups_in(folder, db) == made[2:]
    assert made[0].name == backup_name(db, NOW) == "t-20261207T220000Z.db"
    assert rotate(folder, db, 1) == made[2:4]
    assert (folder / "notes.txt").exists() and mode(folder) == 0o700


@pytest.mark.integration
def test_the_backup_command_writes_a_dated_private_copy_equal_to_the_journal(conn, tmp_path):
    journal(conn)
    db = tmp_path / "t.db"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "backup", "--db", str(db), "--dir", str(tmp_path / "b"),
         "--keep", "2"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [copy] = backups_in(tmp_path / "b", db)
    assert mode(copy) == 0o600 and "integrity ok" in done.stdout
    assert dump(copy, leave_out="\x00") == dump(db, leave_out="\x00")
    refused = subprocess.run(
        [sys.executable, "-m", "bot", "backup", "--db", str(db), "--dir", str(tmp_path / "b"),
         "--keep", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--keep 0: must be between 1 and 365" in refused.stderr


@pytest.mark.unit
def test_the_journal_its_wal_and_shm_the_lock_and_exported_config_are_owner_only(tmp_path):
    previous = os.umask(0o022)  # the usual umask: files would be 0644 without our mode
    try:
        conn = open_database(tmp_path / "j.db")
        add_event(conn, NOW)
        for name in ("j.db", "j.db-wal", "j.db-shm"):
            assert mode(tmp_path / name) == 0o600, name
        with write_transaction(conn):
            config_source.store_version(conn, Settings(), "test", "", NOW)
        assert config_source.export_active(conn, tmp_path / "config.yaml")
        assert mode(tmp_path / "config.yaml") == 0o600
        conn.close()
        fd = acquire(tmp_path / "j.db", NOW)
        try:
            assert mode(lock_path(tmp_path / "j.db")) == 0o600
        finally:
            os.close(fd)
    finally:
        os.umask(previous)


@pytest.mark.integration
def test_bot_init_writes_the_config_file_and_database_owner_only(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bot", "init", "--config", str(tmp_path / "c.yaml"), "--db",
         str(tmp_path / "t.db")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert mode(tmp_path / "c.yaml") == 0o600 and mode(tmp_path / "t.db") == 0o600


@pytest.mark.integration
def test_the_maintenance_command_runs_once_and_refuses_a_bad_config(conn, tmp_path):
    journal(conn)
    conn.close()
    config = tmp_path / "c.yaml"
    config.write_text("maintenance:\n  decisions_days: 3\n  backup_keep: 1\n")
    command = [sys.executable, "-m", "bot", "maintenance", "--db", str(tmp_path / "t.db"),
               "--config", str(config)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "deleted 2 decisions, 0 events, 0 llm_calls, 0 alerts; 1 archive file(s)" \
        in done.stdout, done.stdout
    assert len(backups_in(tmp_path / "backups", tmp_path / "t.db")) == 1
    config.write_text("maintenance:\n  decisions_days: 1\n")
    refused = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "maintenance.decisions_days: Value error, must be 0 (keep forever) or at least 2" \
        in refused.stderr
