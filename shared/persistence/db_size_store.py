"""The journal's size: page counts, per-table rows and bytes, and the nightly maintenance runs.

``page_figures`` is a few PRAGMAs (cheap, for the dashboard). ``table_sizes`` reads every page
through SQLite's ``dbstat`` table (seconds on a large journal), so only the nightly maintenance
calls it and stores the result in ``db_maintenance``; the dashboard reads those rows.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.persistence.codec import from_text, optional_ts, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class PageFigures:
    """Page size, pages in the file, and pages free for reuse (freed by deletes)."""

    page_size: int
    page_count: int
    freelist_count: int

    @property
    def free_bytes(self) -> int:
        return self.page_size * self.freelist_count


@dataclass(frozen=True, slots=True)
class TableSize:
    """Rows of a table and the bytes of its pages (its indexes included; None without dbstat)."""

    rows: int
    size_bytes: int | None


@dataclass(frozen=True, slots=True)
class MaintenanceRun:
    """One nightly maintenance run as recorded."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    message: str
    file_bytes: int
    wal_bytes: int
    db_bytes: int  # pages x page size: the database with its WAL's committed pages
    free_bytes: int
    tables: dict[str, dict[str, Any]]
    deleted: dict[str, int]
    archived: list[str]
    backup_path: str
    backup_bytes: int


def page_figures(conn: sqlite3.Connection) -> PageFigures:
    """The PRAGMA figures of the main database."""
    def pragma(name: str) -> int:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])
    return PageFigures(pragma("page_size"), pragma("page_count"), pragma("freelist_count"))


def _user_tables(conn: sqlite3.Connection) -> dict[str, str]:
    """Every table and index name -> the table it belongs to (internal tables left out)."""
    rows = conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN "
                        "('table', 'index') AND name NOT LIKE 'sqlite_%'").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def table_sizes(conn: sqlite3.Connection) -> dict[str, TableSize]:
    """Rows and bytes of every table, largest first (a full read of the file: nightly only)."""
    owners = _user_tables(conn)
    tables = sorted(set(owners.values()))
    rows = {t: int(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0]) for t in tables}
    size: dict[str, int] | None = {}
    try:
        for name, pages_bytes in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            owner = owners.get(str(name))
            if owner is not None and size is not None:
                size[owner] = size.get(owner, 0) + int(pages_bytes)
    except sqlite3.OperationalError:  # SQLite built without dbstat: rows only
        size = None
    result = {t: TableSize(rows[t], None if size is None else size.get(t, 0)) for t in tables}
    return dict(sorted(result.items(), key=lambda kv: (-(kv[1].size_bytes or 0), -kv[1].rows)))


def start_run(conn: sqlite3.Connection, at: datetime) -> int:
    """Record that a maintenance run started; return its id."""
    require_transaction(conn, "start_run")
    cursor = conn.execute("INSERT INTO db_maintenance (started_at) VALUES (?)", (to_text(at),))
    return int(cursor.lastrowid or 0)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a finished run records."""

    status: str
    message: str
    file_bytes: int
    wal_bytes: int
    pages: PageFigures
    tables: dict[str, TableSize]
    deleted: dict[str, int]
    archived: list[str]
    backup_path: str = ""
    backup_bytes: int = 0


def finish_run(conn: sqlite3.Connection, run_id: int, outcome: RunOutcome, at: datetime) -> None:
    """Record a run's sizes, deletions, archive files and backup."""
    require_transaction(conn, "finish_run")
    tables = {name: {"rows": s.rows, "bytes": s.size_bytes} for name, s in outcome.tables.items()}
    conn.execute(
        "UPDATE db_maintenance SET finished_at = ?, status = ?, message = ?, file_bytes = ?, "
        "wal_bytes = ?, page_size = ?, page_count = ?, freelist_count = ?, tables_json = ?, "
        "deleted_json = ?, archived_json = ?, backup_path = ?, backup_bytes = ? WHERE id = ?",
        (to_text(at), outcome.status, outcome.message, outcome.file_bytes, outcome.wal_bytes,
         outcome.pages.page_size, outcome.pages.page_count, outcome.pages.freelist_count,
         json.dumps(tables), json.dumps(outcome.deleted), json.dumps(outcome.archived),
         outcome.backup_path, outcome.backup_bytes, run_id))


def recent_runs(conn: sqlite3.Connection, limit: int = 30) -> list[MaintenanceRun]:
    """The latest maintenance runs, newest first (none on a journal from before them)."""
    try:
        rows = conn.execute("SELECT * FROM db_maintenance ORDER BY id DESC LIMIT ?",
                            (limit,)).fetchall()
    except sqlite3.OperationalError:  # a journal from before the maintenance table
        return []
    return [MaintenanceRun(
        int(r["id"]), from_text(r["started_at"]), optional_ts(r["finished_at"]), r["status"],
        r["message"], int(r["file_bytes"]), int(r["wal_bytes"]),
        int(r["page_size"]) * int(r["page_count"]),
        int(r["page_size"]) * int(r["freelist_count"]), json.loads(r["tables_json"]),
        json.loads(r["deleted_json"]), json.loads(r["archived_json"]), r["backup_path"],
        int(r["backup_bytes"])) for r in rows]
