"""The journal file itself: checked at start, watched while the bot runs (DESIGN §4 rule 12).

At start ``check_at_start`` runs ``PRAGMA quick_check`` within ``START_CHECK_LIMIT_S``: a
damaged file is refused (``JournalDamaged``: one line, exit 3) before anything trades on it;
a check that does not finish in time is logged and the bot starts.

While running, ``JournalWatch.check`` (called between bars, at most every ``CHECK_EVERY_S``)
compares the database path with the files the bot opened: the database, its ``-wal`` and
``-shm`` must still be there with the same device and inode, the database must not have shrunk
(SQLite never shrinks it without a VACUUM, which the bot does not run; a file copied over it
does). Only ``stat`` is used: opening and closing the database file in this process would drop
the POSIX locks SQLite holds on it (another process could then delete the live WAL). When one
was deleted or replaced, the bot's open connection still sees the whole journal: the watch
saves it (online backup) beside the path as ``<db>.rescued-<UTC time>`` and raises
``JournalFileFault``; the live loop stands down as for any journal fault (entries halted,
position left protected) and the process exits 3.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.runtime.faults import EXIT_JOURNAL_FAULT, JournalFault
from shared.persistence.backup import BackupError, backup_connection
from shared.persistence.db import connect
from shared.persistence.integrity import FileIdentity, quick_check

logger = logging.getLogger(__name__)

START_CHECK_LIMIT_S = 20.0
CHECK_EVERY_S = 0.5
SIDE_FILES = ("-wal", "-shm")


class JournalDamaged(JournalFault):
    """The journal failed its integrity check at start."""

    def __str__(self) -> str:  # the journal_fault event and the log say what happened
        return self.line().removeprefix("error: ")

    def line(self) -> str:
        return (f"error: journal integrity check failed at {self.path}: {self.cause}; refusing "
                f"to start on it (restore a backup made with `python -m bot backup`); "
                f"exit {EXIT_JOURNAL_FAULT}")


class JournalFileFault(JournalFault):
    """The journal file was deleted or replaced under the running bot."""

    def __str__(self) -> str:
        return self.line().removeprefix("error: ")

    def line(self) -> str:
        return (f"error: journal file {self.cause} at {self.path}: stopping new entries; "
                f"{self.protection}; exit {EXIT_JOURNAL_FAULT}")


def check_at_start(db_path: Path, limit_s: float = START_CHECK_LIMIT_S) -> None:
    """Refuse a damaged journal (``JournalDamaged``); a new or empty file has nothing to check."""
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return
    conn = connect(db_path, readonly=True)
    try:
        report = quick_check(conn, limit_s)
    finally:
        conn.close()
    if not report.finished:
        logger.warning("journal integrity check of %s not finished within %.0f s; starting",
                       db_path, limit_s)
    elif report.problems:
        shown = "; ".join(report.problems[:3]) + (
            f" (and {len(report.problems) - 3} more)" if len(report.problems) > 3 else "")
        raise JournalDamaged(db_path, shown)
    else:
        logger.info("journal integrity check of %s: ok (%.2f s)", db_path, report.seconds)


def side_file(db_path: Path, suffix: str) -> Path:
    return db_path.with_name(db_path.name + suffix)


class JournalWatch:
    """Notices the database (or its WAL/SHM) deleted or replaced under the running bot."""

    def __init__(self, db_path: Path, wall_now: Callable[[], datetime],
                 every_s: float = CHECK_EVERY_S) -> None:
        self.db_path = Path(db_path)
        self.wall_now = wall_now
        self.every_s = every_s
        paths = [self.db_path, *(side_file(self.db_path, s) for s in SIDE_FILES)]
        self.identities = {p: FileIdentity.of(p) for p in paths}
        self.size_bytes = self._size()
        self._next_s = time.monotonic() + every_s

    def _size(self) -> int:
        try:
            return self.db_path.stat().st_size
        except FileNotFoundError:
            return 0

    def problem(self) -> str | None:
        """What happened to the files, or None while they are the ones the bot opened."""
        for path, identity in self.identities.items():
            if identity is None:
                continue  # not there at start (a WAL appears with the first write)
            now = FileIdentity.of(path)
            if now is None:
                return f"{path.name} was deleted while the bot ran"
            if now != identity:
                return f"{path.name} was replaced by another file while the bot ran"
        size = self._size()
        if size < self.size_bytes:
            return (f"{self.db_path.name} shrank from {self.size_bytes} to {size} bytes while "
                    "the bot ran (something wrote over it)")
        self.size_bytes = size
        return None

    def check(self, conn: sqlite3.Connection, protection: Callable[[], str]) -> None:
        """Every ``every_s``: raise ``JournalFileFault`` (after saving the journal) on a problem."""
        now_s = time.monotonic()
        if now_s < self._next_s:
            return
        self._next_s = now_s + self.every_s
        try:
            problem = self.problem()
        except OSError as exc:  # the folder itself gone or unreadable
            problem = f"cannot be checked ({exc.strerror or exc})"
        if problem is None:
            return
        cause = f"{problem}; {self.rescue(conn)}"
        raise JournalFileFault(self.db_path, cause, protection())

    def rescue(self, conn: sqlite3.Connection) -> str:
        """Save what the open connection still sees; say where (or why it could not)."""
        stamp = self.wall_now().strftime("%Y%m%dT%H%M%SZ")
        out = side_file(self.db_path, f".rescued-{stamp}")
        try:
            backup_connection(conn, out)
        except (OSError, sqlite3.Error, BackupError) as exc:
            logger.error("could not save the journal to %s: %s", out, exc)
            return f"its last state could not be saved ({exc})"
        logger.error("the journal as the bot last saw it is saved in %s", out)
        return f"its last state is saved in {out} (move it back to resume)"
