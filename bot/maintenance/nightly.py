"""One nightly maintenance run: retention (with archive), a backup, the journal's size recorded.

Called by the nightly program (``python -m bot review --nightly``, supervisord ``review``) after
each review, and by ``python -m bot maintenance`` by hand. It opens its own connection; the bot
keeps trading meanwhile. Each step's failure is logged and recorded in ``db_maintenance`` and
does not stop the next step.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.maintenance.backups import nightly_backup
from bot.maintenance.retention import apply_retention
from shared.config.maintenance import MaintenanceConfig
from shared.persistence import db_size_store
from shared.persistence.db import open_database, write_transaction
from shared.persistence.db_size_store import RunOutcome

logger = logging.getLogger(__name__)


def archive_folder(config: MaintenanceConfig, db_path: Path) -> Path:
    """Where archived rows go: the configured folder, else ``archive`` beside the database."""
    return Path(config.archive_dir) if config.archive_dir else Path(db_path).parent / "archive"


def backup_folder(config: MaintenanceConfig, db_path: Path) -> Path:
    """Where nightly backups go: the configured folder, else ``backups`` beside the database."""
    return Path(config.backup_dir) if config.backup_dir else Path(db_path).parent / "backups"


def file_bytes(path: Path) -> int:
    """Size of ``path`` (0 when absent)."""
    try:
        return Path(path).stat().st_size
    except FileNotFoundError:
        return 0


@dataclass(slots=True)
class Report:
    """What the run did, for the log line and the record."""

    deleted: dict[str, int] = field(default_factory=dict)
    archived: list[str] = field(default_factory=list)
    backup_path: str = ""
    backup_bytes: int = 0
    longest_write_ms: float = 0.0  # the longest delete transaction (the bot waited at most this)
    problems: list[str] = field(default_factory=list)


def _retention(conn: sqlite3.Connection, config: MaintenanceConfig, db_path: Path, now: datetime,
               stop: threading.Event | None, report: Report) -> None:
    try:
        for outcome in apply_retention(conn, config, now, archive_folder(config, db_path), stop):
            report.deleted[outcome.table] = outcome.deleted
            report.archived.extend(str(p) for p in outcome.archived)
            report.longest_write_ms = max(report.longest_write_ms, outcome.longest_write_ms)
    except Exception as exc:  # logged and recorded; the backup still runs
        logger.exception("retention failed")
        report.problems.append(f"retention failed: {type(exc).__name__}: {exc}")


def _backup(config: MaintenanceConfig, db_path: Path, now: datetime, report: Report) -> None:
    try:
        result = nightly_backup(db_path, backup_folder(config, db_path), config.backup_keep, now)
        report.backup_path, report.backup_bytes = str(result.path), result.bytes_written
    except Exception as exc:  # logged and recorded
        logger.exception("backup failed")
        report.problems.append(f"backup failed: {type(exc).__name__}: {exc}")


def run_maintenance(db_path: Path, config: MaintenanceConfig, now: datetime,
                    stop: threading.Event | None = None) -> Report:
    """Retention, backup and size record of the journal at ``db_path``."""
    conn = open_database(db_path)
    report = Report()
    try:
        with write_transaction(conn):
            run_id = db_size_store.start_run(conn, now)
        if config.retention:
            _retention(conn, config, db_path, now, stop, report)
        if config.backup_keep > 0:
            _backup(config, db_path, now, report)
        outcome = RunOutcome(
            "failed" if report.problems else "done", "; ".join(report.problems),
            file_bytes(db_path), file_bytes(Path(f"{db_path}-wal")),
            db_size_store.page_figures(conn), db_size_store.table_sizes(conn), report.deleted,
            report.archived, report.backup_path, report.backup_bytes)
        with write_transaction(conn):
            db_size_store.finish_run(conn, run_id, outcome, now)
    finally:
        conn.close()
    logger.info("maintenance of %s: deleted %s; %d archive file(s); backup %s; %s", db_path,
                report.deleted or "nothing", len(report.archived), report.backup_path or "none",
                "; ".join(report.problems) or "ok")
    return report


def safe_maintenance(db_path: Path, config: MaintenanceConfig, now: datetime,
                     stop: threading.Event | None = None) -> None:
    """``run_maintenance`` for the nightly loop: one bad night never ends the schedule."""
    try:
        run_maintenance(db_path, config, now, stop)
    except Exception:  # logged; retried tomorrow
        logger.exception("maintenance of %s failed", db_path)
