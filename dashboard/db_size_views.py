"""The journal's size for the Bot control page: file, WAL, free space, tables, growth per day.

Live figures are file sizes and PRAGMA page counts (cheap on every refresh). Per-table bytes and
the growth per day come from the nightly maintenance's records (``db_maintenance``), so the page
never reads the whole database.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from shared.persistence import db_size_store
from shared.persistence.db_size_store import MaintenanceRun

GROWTH_WINDOW = timedelta(days=7)
MIN_GROWTH_SPAN = timedelta(hours=12)


def human_bytes(size: float | None) -> str:
    """``1.5 MB``-style text (binary units); ``-`` for unknown."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def used_bytes(run: MaintenanceRun) -> int:
    """Bytes holding rows at the run (all pages, WAL's included, minus pages free for reuse)."""
    return run.db_bytes - run.free_bytes


def growth_per_day(runs: list[MaintenanceRun]) -> float | None:
    """Bytes a day the journal's rows grew over the last week of runs (None: too few runs).

    Measured on used bytes, not the file: after retention the file keeps its size and new rows
    fill the freed pages first.
    """
    finished = [r for r in runs if r.finished_at is not None]
    if len(finished) < 2:
        return None
    newest = finished[0]
    window = [r for r in finished if newest.started_at - r.started_at <= GROWTH_WINDOW]
    oldest = window[-1]
    span = newest.started_at - oldest.started_at
    if span < MIN_GROWTH_SPAN:
        return None
    return (used_bytes(newest) - used_bytes(oldest)) / (span / timedelta(days=1))


@dataclass(frozen=True, slots=True)
class DbSizeView:
    """What the panel shows."""

    file_bytes: int
    wal_bytes: int
    free_bytes: int
    growth_bytes_per_day: float | None
    last_run: MaintenanceRun | None
    tables: pd.DataFrame

    def summary(self, now: datetime) -> str:
        """One line on the last maintenance run (or that none ran yet)."""
        run = self.last_run
        if run is None:
            return ("No nightly maintenance recorded yet: it runs after each nightly review "
                    "(or now with `python -m bot maintenance`).")
        age_h = (now - run.started_at) / timedelta(hours=1)
        deleted = sum(run.deleted.values())
        backup = f"backup {Path(run.backup_path).name} ({human_bytes(run.backup_bytes)})" \
            if run.backup_path else "no backup"
        line = (f"Last maintenance {age_h:.0f} h ago ({run.status}): {deleted} old rows "
                f"deleted, {len(run.archived)} archive file(s), {backup}.")
        return line + (f" Problem: {run.message}" if run.message else "")


def tables_frame(run: MaintenanceRun | None, limit: int = 12) -> pd.DataFrame:
    """The largest tables at the last run: rows and size."""
    if run is None or not run.tables:
        return pd.DataFrame(columns=["table", "rows", "size"])
    ordered = sorted(run.tables.items(), key=lambda kv: -(kv[1].get("bytes") or 0))[:limit]
    return pd.DataFrame([{"table": name, "rows": int(figures.get("rows") or 0),
                          "size": human_bytes(figures.get("bytes"))}
                         for name, figures in ordered])


def db_size_view(conn: sqlite3.Connection, db_path: Path) -> DbSizeView:
    """The live file figures with the nightly runs' tables and growth."""
    pages = db_size_store.page_figures(conn)
    runs = db_size_store.recent_runs(conn, 60)
    return DbSizeView(_size(db_path), _size(Path(f"{db_path}-wal")), pages.free_bytes,
                      growth_per_day(runs), runs[0] if runs else None,
                      tables_frame(runs[0] if runs else None))
