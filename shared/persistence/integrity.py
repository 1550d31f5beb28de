"""Is the journal file sound? ``PRAGMA quick_check`` within a time bound, and file identity.

``quick_check`` reads every page and checks the b-tree structure (not the index contents, which
``integrity_check`` would add at several times the cost). A journal of a few hundred MB takes
seconds; the bound keeps a huge or very slow file from holding a start forever: past it the
check reports "not finished" and the caller decides (the bot starts and says so).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

PROGRESS_STEPS = 10_000  # SQLite VM instructions between two looks at the clock
MAX_PROBLEMS = 5


@dataclass(frozen=True, slots=True)
class IntegrityReport:
    """The check's verdict: ``ok`` only when it finished and found nothing."""

    finished: bool
    problems: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return self.finished and not self.problems


def quick_check(conn: sqlite3.Connection, limit_s: float) -> IntegrityReport:
    """Run ``PRAGMA quick_check`` on ``conn``, giving up after ``limit_s`` seconds.

    A file SQLite cannot even read as a database reports that as its one problem.
    """
    started = time.monotonic()
    deadline = started + limit_s
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
    try:
        rows = conn.execute(f"PRAGMA quick_check({MAX_PROBLEMS})").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupt" not in str(exc):
            raise
        return IntegrityReport(False, (), time.monotonic() - started)
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
        return IntegrityReport(True, (str(exc),), time.monotonic() - started)
    finally:
        conn.set_progress_handler(None, 0)
    lines = (line.strip() for row in rows for line in str(row[0]).splitlines())
    problems = tuple(line for line in lines if line and line != "ok")
    return IntegrityReport(True, problems, time.monotonic() - started)


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """Which file a path names: device and inode (a replaced file gets another inode)."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            return None
        return cls(stat.st_dev, stat.st_ino)
