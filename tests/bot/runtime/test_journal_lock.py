"""The writer lock: a second holder is refused naming the first; the dashboard's probe reads it."""

from __future__ import annotations

import fcntl
import os
import threading
from datetime import UTC, datetime

import pytest

from bot.runtime.journal_lock import JournalInUse, acquire, journal_lock
from shared.persistence.lock_file import describe_status, lock_path, lock_status

T0 = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)


def test_a_second_lock_on_the_same_journal_is_refused_naming_the_holder(tmp_path):
    db = tmp_path / "t.db"
    with journal_lock(db, T0):
        with pytest.raises(JournalInUse) as refused:
            acquire(db, T0, wait_s=0.2)
        assert refused.value.holder.pid == os.getpid()
        assert refused.value.holder.host == os.uname().nodename
        line = refused.value.line()
        assert line.startswith(f"error: journal {db} is in use by another bot (pid {os.getpid()} "
                               f"on host {os.uname().nodename}, since 2026-12-07T18:00:00+00:00")
        assert "\n" not in line
    fd = acquire(db, T0, wait_s=0)  # released when the holder closed it
    os.close(fd)


def test_the_probe_tells_held_from_free_and_names_the_last_holder(tmp_path):
    db = tmp_path / "t.db"
    assert lock_status(db).held is False and lock_status(db).holder is None
    assert describe_status(lock_status(db)) == "Journal writer: none"
    with journal_lock(db, T0):
        status = lock_status(db)
        assert status.held and status.holder.pid == os.getpid()
        assert describe_status(status).startswith(f"Journal writer: pid {os.getpid()} on host ")
    status = lock_status(db)
    assert not status.held and status.holder.pid == os.getpid()
    assert describe_status(status).startswith("Journal writer: none (last: pid ")
    assert lock_path(db) == tmp_path / "t.db.lock"


def test_an_unreadable_lock_file_does_not_crash_the_probe(tmp_path):
    db = tmp_path / "t.db"
    lock_path(db).write_text("not json", encoding="utf-8")
    assert lock_status(db).holder is None


def test_a_bot_starting_during_a_probe_waits_for_it_instead_of_being_refused(tmp_path):
    db = tmp_path / "t.db"
    os.close(acquire(db, T0))
    probe = os.open(lock_path(db), os.O_RDONLY)
    fcntl.flock(probe, fcntl.LOCK_SH)  # a dashboard probe caught mid-way
    release = threading.Timer(0.3, os.close, (probe,))
    release.start()
    try:
        fd = acquire(db, T0, wait_s=2.0)
    finally:
        release.join()
    os.close(fd)
