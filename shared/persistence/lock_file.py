"""The journal's writer lock file, ``<db>.lock``: who holds it, read by the bot and the dashboard.

One bot owns a database (DESIGN §4 rule 12). It holds an exclusive ``flock`` on the sidecar file
``<db>.lock`` for its whole life (the OS drops the lock when the process dies, kill -9 included)
and writes its pid, host and start time into the file. The file itself stays after the bot
exits: only the lock says whether someone holds it, so ``lock_status`` probes the lock (a shared
lock taken and dropped at once) and reads the content for the holder's name.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

LOCK_SUFFIX = ".lock"


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The process that wrote the lock file: pid, host name and start time (UTC, ISO)."""

    pid: int
    host: str
    started_at: str

    def describe(self, show_time: Callable[[str], str] = str) -> str:
        """``pid 1234 on host trader-1, since 2026-12-07T18:40:01+00:00`` (``show_time`` puts
        the ISO start time in the reader's zone)."""
        return f"pid {self.pid} on host {self.host}, since {show_time(self.started_at)}"

    def to_text(self) -> str:
        return json.dumps({"pid": self.pid, "host": self.host, "started_at": self.started_at})


@dataclass(frozen=True, slots=True)
class LockStatus:
    """Whether the journal's lock is held now, and the holder the file names (last one if free)."""

    held: bool
    holder: LockHolder | None
    path: Path


def lock_path(db_path: Path | str) -> Path:
    """The lock file beside the database: ``data/trader.db`` -> ``data/trader.db.lock``."""
    db = Path(db_path)
    return db.with_name(db.name + LOCK_SUFFIX)


def holder_now(started_at: datetime) -> LockHolder:
    """This process as a lock holder."""
    return LockHolder(os.getpid(), os.uname().nodename, started_at.isoformat(timespec="seconds"))


def parse_holder(text: str) -> LockHolder | None:
    """The holder a lock file names (None when empty or not ours)."""
    try:
        data = json.loads(text)
        return LockHolder(int(data["pid"]), str(data["host"]), str(data["started_at"]))
    except (ValueError, KeyError, TypeError):
        return None


def read_holder_fd(fd: int) -> LockHolder | None:
    """The holder named in the open lock file ``fd`` (read from its start)."""
    return parse_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))


def lock_status(db_path: Path | str) -> LockStatus:
    """Probe ``db_path``'s lock without keeping it: held or free, and the holder it names.

    The probe takes a shared lock for an instant; a bot starting at that very instant retries
    its exclusive lock for a moment (``bot/runtime/journal_lock.py``), so it is not refused.
    """
    path = lock_path(db_path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return LockStatus(False, None, path)
    try:
        holder = read_holder_fd(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            return LockStatus(True, holder, path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return LockStatus(False, holder, path)
    finally:
        os.close(fd)


def describe_status(status: LockStatus, show_time: Callable[[str], str] = str) -> str:
    """One line for the dashboard: who holds the journal, or that nobody does."""
    holder = status.holder
    if status.held:
        who = holder.describe(show_time) if holder else "a process that has not named itself"
        return f"Journal writer: {who}"
    if holder is not None:
        return f"Journal writer: none (last: {holder.describe(show_time)})"
    return "Journal writer: none"
