"""One writer per journal: ``python -m bot run`` holds ``<db>.lock`` for its whole life.

The lock is an exclusive ``flock`` on the sidecar file (``shared/persistence/lock_file.py``),
taken before the bot reads or writes the journal, and released by the OS when the process ends
in any way, kill -9 included, so a stale file never blocks a restart. A second bot on the same
database retries for ``LOCK_WAIT_S`` (a dashboard probe holds a shared lock for an instant),
then refuses with one line naming the holder's pid and host: exit 2, like any refused start.
On a shared disk over NFS, Linux turns ``flock`` into a lock the server sees, so a bot on a
second host meets the lock as well.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from shared.persistence.lock_file import LockHolder, holder_now, lock_path, read_holder_fd

LOCK_WAIT_S = 1.0
RETRY_S = 0.05


class JournalInUse(Exception):
    """Another process holds the journal's writer lock."""

    def __init__(self, db_path: Path, holder: LockHolder | None) -> None:
        self.db_path = db_path
        self.holder = holder
        who = holder.describe() if holder else "a process that has not written its name yet"
        super().__init__(
            f"journal {db_path} is in use by another bot ({who}; lock file "
            f"{lock_path(db_path)}): refusing to start a second writer; stop that bot first"
        )

    def line(self) -> str:
        return f"error: {self}"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


def acquire(db_path: Path, started_at: datetime, wait_s: float = LOCK_WAIT_S) -> int:
    """Take the writer lock and write this process's name into it; return the open fd.

    Raises ``JournalInUse`` when another process keeps the lock for ``wait_s``, and ``OSError``
    when the lock file cannot be created (a read-only folder: a journal fault for the caller).
    """
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    while True:
        fd = _open_and_lock(path, db_path, deadline)
        if _still_at(path, fd):
            break
        os.close(fd)  # the file was removed or replaced between open and lock: lock the new one
    try:
        text = holder_now(started_at).to_text().encode("utf-8") + b"\n"
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
        os.fsync(fd)
    except BaseException:
        os.close(fd)  # closing drops the lock too, if it was taken
        raise
    return fd


def _open_and_lock(path: Path, db_path: Path, deadline: float) -> int:
    """Open ``path`` and take its exclusive lock, retrying until ``deadline``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise JournalInUse(db_path, read_holder_fd(fd))
            time.sleep(RETRY_S)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _still_at(path: Path, fd: int) -> bool:
    """Whether the locked file is still the one ``path`` names."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


@contextmanager
def journal_lock(db_path: Path, started_at: datetime) -> Iterator[int]:
    """Hold the journal's writer lock for the block (the file stays; the lock goes)."""
    fd = acquire(db_path, started_at)
    try:
        yield fd
    finally:
        os.close(fd)
