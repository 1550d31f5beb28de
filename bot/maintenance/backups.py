"""Nightly backups: a checked copy of the journal into a folder, keeping the newest ``keep``.

Copies are named ``<db stem>-<UTC stamp>.db`` (``trader-20261207T221500Z.db``), so their names
sort by age; the oldest beyond ``keep`` are removed only after the new one is complete. The
copy is SQLite's online backup API (``shared/persistence/backup.py``): safe while the bot writes.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

from shared.persistence.backup import BackupResult, backup_file

logger = logging.getLogger(__name__)

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def backup_name(db_path: Path, now: datetime) -> str:
    """The file name of the backup taken at ``now``."""
    return f"{Path(db_path).stem}-{now.strftime(STAMP_FORMAT)}.db"


def backups_in(folder: Path, db_path: Path) -> list[Path]:
    """The nightly backups of ``db_path`` in ``folder``, oldest first."""
    pattern = re.compile(rf"^{re.escape(Path(db_path).stem)}-\d{{8}}T\d{{6}}Z\.db$")
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and pattern.match(p.name))


def rotate(folder: Path, db_path: Path, keep: int) -> list[Path]:
    """Remove the oldest backups beyond the newest ``keep``; return the removed paths."""
    old = backups_in(folder, db_path)
    removed = old[:max(0, len(old) - keep)]
    for path in removed:
        path.unlink(missing_ok=True)
        logger.info("removed old backup %s", path)
    return removed


def nightly_backup(db_path: Path, folder: Path, keep: int, now: datetime) -> BackupResult:
    """Back up ``db_path`` into ``folder`` (created 0700 if missing), then rotate."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    result = backup_file(db_path, folder / backup_name(db_path, now), overwrite=True)
    rotate(folder, db_path, keep)
    logger.info("backup %s written (%d bytes); %d kept", result.path, result.bytes_written,
                min(keep, len(backups_in(folder, db_path))))
    return result
