"""``python -m bot maintenance``: one maintenance run now (retention, archive, backup, sizes).

The nightly program runs the same after each review; this is for a first run on a large
journal, or after changing the ``maintenance`` section. Exit codes: 0 done, 1 a step failed
(named on stderr), 2 bad config.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.maintenance.nightly import run_maintenance
from bot.ports import wall_clock_utc
from shared.config.settings import load_settings
from shared.domain.errors import ConfigError
from shared.persistence.db import db_path_from_env

DEFAULT_CONFIG = Path("data/config.yaml")
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config (default data/config.yaml if present)")
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")


def command_maintenance(args: argparse.Namespace) -> int:
    """Run maintenance once; one line per problem on stderr."""
    path = Path(args.config) if args.config else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists()
                                                  else None)
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_CONFIG
    db_path = Path(args.db) if args.db else db_path_from_env()
    if not db_path.is_file():
        sys.stderr.write(f"error: no database at {db_path}\n")
        return EXIT_BAD_CONFIG
    report = run_maintenance(db_path, settings.maintenance, wall_clock_utc())
    deleted = ", ".join(f"{n} {t}" for t, n in report.deleted.items()) or "nothing"
    sys.stdout.write(f"{db_path}: deleted {deleted}; {len(report.archived)} archive file(s); "
                     f"backup {report.backup_path or 'none'}\n")
    for problem in report.problems:
        sys.stderr.write(f"error: {problem}\n")
    return EXIT_FAILED if report.problems else 0
