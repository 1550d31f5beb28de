"""``python -m bot backup --db X --out FILE``: a consistent copy of a journal, bot running or not.

Uses SQLite's online backup API (``shared/persistence/backup.py``), never ``cp``: the copy holds
every committed row (the WAL's too), is integrity-checked, and is renamed into place only when
complete. Restore by stopping the bot and moving the copy over the database (its ``-wal`` and
``-shm`` files removed). Exit codes: 0 written; 2 refused (no database, destination exists
without ``--force``, unreadable source), one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from shared.persistence.backup import BackupError, backup_file
from shared.persistence.db import db_path_from_env

logger = logging.getLogger(__name__)

EXIT_REFUSED = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
    parser.add_argument("--out", required=True, help="file to write the copy to")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")


def command_backup(args: argparse.Namespace) -> int:
    """Write the backup; one line on stdout when done, on stderr when refused."""
    db_path = Path(args.db) if args.db else db_path_from_env()
    try:
        result = backup_file(db_path, Path(args.out), overwrite=args.force)
    except BackupError as exc:
        logger.error("backup refused: %s", exc)
        sys.stderr.write(f"error: backup refused: {exc}\n")
        return EXIT_REFUSED
    sys.stdout.write(f"{db_path}: backed up to {result.path} ({result.pages} pages, "
                     f"{result.bytes_written} bytes, integrity ok)\n")
    return 0
