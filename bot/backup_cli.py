"""``python -m bot backup``: a consistent copy of a journal, bot running or not.

``--out FILE`` writes one copy; ``--dir FOLDER [--keep N]`` writes ``<db stem>-<UTC stamp>.db``
into the folder and removes the oldest beyond the newest N (what the nightly program does with
the ``maintenance`` section). Uses SQLite's online backup API (``shared/persistence/backup.py``),
never ``cp``: the copy holds every committed row (the WAL's too), is integrity-checked, is created
0600, and is renamed into place only when complete. Restore by stopping the bot and moving the
copy over the database (its ``-wal`` and ``-shm`` files removed). Exit codes: 0 written;
2 refused (no database, destination exists without ``--force``, unreadable source), one line on
stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.maintenance.backups import nightly_backup
from bot.ports import wall_clock_utc
from shared.persistence.backup import BackupError, BackupResult, backup_file
from shared.persistence.db import db_path_from_env

logger = logging.getLogger(__name__)

EXIT_REFUSED = 2
MAX_KEEP = 365


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="file to write the copy to")
    where.add_argument("--dir", help="folder of dated copies (oldest beyond --keep removed)")
    parser.add_argument("--keep", type=int, default=7,
                        help=f"with --dir: copies kept, 1-{MAX_KEEP} (default 7)")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")


def _write(args: argparse.Namespace, db_path: Path) -> BackupResult:
    if args.out:
        return backup_file(db_path, Path(args.out), overwrite=args.force)
    if not 1 <= args.keep <= MAX_KEEP:
        raise BackupError(f"--keep {args.keep}: must be between 1 and {MAX_KEEP}")
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}")
    return nightly_backup(db_path, Path(args.dir), args.keep, wall_clock_utc())


def command_backup(args: argparse.Namespace) -> int:
    """Write the backup; one line on stdout when done, on stderr when refused."""
    db_path = Path(args.db) if args.db else db_path_from_env()
    try:
        result = _write(args, db_path)
    except BackupError as exc:
        logger.error("backup refused: %s", exc)
        sys.stderr.write(f"error: backup refused: {exc}\n")
        return EXIT_REFUSED
    sys.stdout.write(f"{db_path}: backed up to {result.path} ({result.pages} pages, "
                     f"{result.bytes_written} bytes, integrity ok)\n")
    return 0
