"""A consistent copy of a journal, safe while the bot writes: SQLite's online backup API.

``cp`` of a WAL database copies the main file without the committed pages still in ``-wal``,
and copied over a live file it corrupts the running bot's view. ``backup_file`` reads the
database through SQLite in one read transaction (WAL readers never block the writer), writes
the copy beside its destination under a temporary name, checks it, and renames it into place,
so the destination is either the previous file or a complete, checked copy.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from shared.persistence.db import connect
from shared.persistence.integrity import quick_check
from shared.private_files import create_private

CHECK_LIMIT_S = 60.0


class BackupError(Exception):
    """The backup could not be made (one line naming what is wrong)."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """Where the copy went, how big it is, and its integrity verdict."""

    path: Path
    bytes_written: int
    pages: int


def _copy(source: sqlite3.Connection, out: Path) -> int:
    """Copy ``source`` into a new file ``out``; return its page count."""
    create_private(out)  # the copy holds everything the journal does: owner-only (0600)
    target = sqlite3.connect(str(out))
    try:
        source.backup(target)  # one step: one consistent read transaction
        target.execute("PRAGMA journal_mode = DELETE")  # a self-contained file, no -wal
        report = quick_check(target, CHECK_LIMIT_S)
        if not report.ok:
            raise BackupError(f"the copy {out} failed its integrity check: "
                              f"{'; '.join(report.problems) or 'not finished'}")
        return int(target.execute("PRAGMA page_count").fetchone()[0])
    finally:
        target.close()


def backup_connection(source: sqlite3.Connection, out: Path) -> BackupResult:
    """Write a checked copy of the open database ``source`` to ``out`` (replacing it)."""
    out = Path(out)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.partial")
    temporary.unlink(missing_ok=True)
    try:
        pages = _copy(source, temporary)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    return BackupResult(out, out.stat().st_size, pages)


def backup_file(db_path: Path, out: Path, overwrite: bool = False) -> BackupResult:
    """Back up the journal at ``db_path`` to ``out``; ``BackupError`` says why it cannot."""
    db_path, out = Path(db_path), Path(out)
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}")
    if out.exists() and out.resolve() == db_path.resolve():
        raise BackupError(f"--out {out} is the database itself")
    if out.exists() and not overwrite:
        raise BackupError(f"{out} exists: choose another name or pass --force to replace it")
    if not out.parent.is_dir():
        raise BackupError(f"no folder {out.parent} for the backup")
    source = connect(db_path, readonly=True)
    try:
        return backup_connection(source, out)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"cannot read {db_path}: {exc}") from exc
    finally:
        source.close()
