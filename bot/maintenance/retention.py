"""Delete journal rows older than each table's retention, archiving them to Parquet first.

Runs in the nightly program, never in the trading loop. Rows are walked from the oldest id
and only the leading run older than the cut is taken (``shared/persistence/retention_store``
says which rows are always kept). Deletes go in short transactions of ``batch_rows`` rows with a
pause between them, so the bot, writing concurrently (WAL, busy_timeout), waits milliseconds at
most. With the archive on, a chunk of rows is written, synced and renamed into a Parquet file
before any of them is deleted.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from bot.maintenance.archive import ArchiveFile
from shared.config.maintenance import MaintenanceConfig
from shared.persistence import retention_store
from shared.persistence.codec import from_text
from shared.persistence.db import write_transaction
from shared.persistence.retention_store import CHILDREN, OldRow

logger = logging.getLogger(__name__)

BATCHES_PER_FILE = 25  # one archive file holds at most this many batches of rows
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024  # the WAL is cut back to this after a checkpoint


@dataclass(slots=True)
class TableOutcome:
    """What retention did to one table."""

    table: str
    cut: datetime
    deleted: int = 0
    archived: list[Path] = field(default_factory=list)
    longest_write_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan:
    """How one table is pruned: its cut, the archive folder (None: no archive), the pacing."""

    table: str
    cut: datetime
    archive_dir: Path | None
    stamp: str
    batch_rows: int
    pause_s: float


def table_days(config: MaintenanceConfig) -> dict[str, int]:
    """Retention days per table (0 = kept forever)."""
    return {"decisions": config.decisions_days, "events": config.events_days,
            "llm_calls": config.llm_calls_days, "alerts": config.alerts_days}


def cut_for(conn: sqlite3.Connection, table: str, days: int, now: datetime) -> datetime:
    """Rows written before this go; a decision from an open position's entry on always stays."""
    cut = now - timedelta(days=days)
    if table == "decisions" and (floor := retention_store.open_position_floor(conn)):
        cut = min(cut, from_text(floor))
    return cut


def _leading_old(rows: list[OldRow], cut: datetime) -> list[OldRow]:
    """The leading rows written before ``cut`` (the walk stops at the first newer row)."""
    old = []
    for row in rows:
        if from_text(row.written_at) >= cut:
            break
        old.append(row)
    return old


def prune_table(conn: sqlite3.Connection, plan: Plan,
                stop: threading.Event | None = None) -> TableOutcome:
    """Archive then delete ``plan.table``'s rows written before ``plan.cut``."""
    outcome = TableOutcome(plan.table, plan.cut)
    after, done = 0, False
    while not done and not (stop is not None and stop.is_set()):
        ids, files, after, done = _archive_chunk(conn, plan, after, outcome)
        _delete(conn, plan, ids, outcome, stop)
        outcome.archived.extend(files)
    return outcome


def _archive_chunk(conn: sqlite3.Connection, plan: Plan, after: int, outcome: TableOutcome
                   ) -> tuple[list[int], list[Path], int, bool]:
    """Read up to ``BATCHES_PER_FILE`` batches; archive the deletable rows; return their ids,
    the finished files, the walk's new position and whether the walk is over."""
    archives = _open_archives(conn, plan, after) if plan.archive_dir is not None else []
    ids: list[int] = []
    done = False
    try:
        for _ in range(BATCHES_PER_FILE):
            rows = retention_store.oldest_rows(conn, plan.table, after, plan.batch_rows)
            old = _leading_old(rows, plan.cut)
            done = len(old) < plan.batch_rows
            if old:
                after = old[-1].row_id
            batch = [r for r in old if not r.keep]
            if archives and batch:
                archives[0].write([r.values for r in batch])
                if len(archives) > 1:
                    archives[1].write(retention_store.alert_attempts_of(
                        conn, [r.row_id for r in batch]))
            ids.extend(r.row_id for r in batch)
            if done:
                break
        files = [path for a in archives if (path := a.close()) is not None]
    except BaseException:
        for archive in archives:
            archive.discard()
        raise
    return ids, files, after, done


def _open_archives(conn: sqlite3.Connection, plan: Plan, after: int) -> list[ArchiveFile]:
    """The archive file of this chunk, and of the child rows deleted with it (alerts)."""
    folder = plan.archive_dir
    if folder is None:
        return []
    tables = [plan.table] + ([CHILDREN[plan.table][0]] if plan.table in CHILDREN else [])
    return [ArchiveFile(folder / name / f"{name}-{plan.stamp}-after-{after}.parquet",
                        retention_store.declared_types(conn, name)) for name in tables]


def _delete(conn: sqlite3.Connection, plan: Plan, ids: list[int], outcome: TableOutcome,
            stop: threading.Event | None) -> None:
    """Delete ``ids`` in short transactions, pausing between them."""
    for start in range(0, len(ids), plan.batch_rows):
        began = time.perf_counter()
        with write_transaction(conn):
            outcome.deleted += retention_store.delete_rows(
                conn, plan.table, ids[start:start + plan.batch_rows])
        outcome.longest_write_ms = max(outcome.longest_write_ms,
                                       (time.perf_counter() - began) * 1000)
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # never waits for the bot
        if start + plan.batch_rows < len(ids) and plan.pause_s > 0:
            if stop is not None and stop.wait(plan.pause_s):
                return
            if stop is None:
                time.sleep(plan.pause_s)


def apply_retention(conn: sqlite3.Connection, config: MaintenanceConfig, now: datetime,
                    archive_dir: Path | None, stop: threading.Event | None = None
                    ) -> list[TableOutcome]:
    """Prune every table whose retention is on; return what was done per table."""
    conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES}")
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    outcomes = []
    for table, days in table_days(config).items():
        if days <= 0:
            continue
        plan = Plan(table, cut_for(conn, table, days, now),
                    archive_dir if config.archive else None, stamp, config.batch_rows,
                    config.batch_pause_ms / 1000)
        outcome = prune_table(conn, plan, stop)
        logger.info("retention %s: %d rows written before %s deleted%s (longest write %.0f ms)",
                    table, outcome.deleted, f"{plan.cut:%Y-%m-%d %H:%M}",
                    f", archived to {len(outcome.archived)} file(s)" if outcome.archived else "",
                    outcome.longest_write_ms)
        outcomes.append(outcome)
    return outcomes
