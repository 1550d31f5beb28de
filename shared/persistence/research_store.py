"""Every SQL statement about research runs: requests, progress, cancel flags and results.

The dashboard inserts a queued run, reads progress and results, raises the cancel flag and
deletes runs; ``python -m bot research --run-id N`` marks it running, reports progress, checks
the flag between tasks and writes the results once, at the end. Callers own the transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.config.research_request import ResearchStatus
from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction

ACTIVE = (ResearchStatus.QUEUED.value, ResearchStatus.RUNNING.value)


@dataclass(frozen=True, slots=True)
class ResearchRunSummary:
    """A run without its request and results (for lists)."""

    id: int
    created_at: datetime
    name: str
    kind: str
    status: str
    progress: float
    tasks_done: int
    tasks_total: int
    message: str
    cancel_requested: bool
    pid: int | None
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.status in ACTIVE


@dataclass(frozen=True, slots=True)
class ResearchRun:
    """A run with its request and, once done, its results."""

    summary: ResearchRunSummary
    request_json: str
    result: dict[str, Any] | None


_SUMMARY = ("id, created_at, name, kind, status, progress, tasks_done, tasks_total, message, "
            "cancel_requested, pid, finished_at")


def _summary(row: sqlite3.Row) -> ResearchRunSummary:
    return ResearchRunSummary(
        int(row["id"]), from_text(row["created_at"]), row["name"], row["kind"], row["status"],
        float(row["progress"]), int(row["tasks_done"]), int(row["tasks_total"]), row["message"],
        bool(row["cancel_requested"]), row["pid"],
        from_text(row["finished_at"]) if row["finished_at"] else None,
    )


def insert_research_run(
    conn: sqlite3.Connection, kind: str, request_json: str, created_at: datetime, name: str = ""
) -> int:
    """Queue a research request; return the run id."""
    require_transaction(conn, "insert_research_run")
    cursor = conn.execute(
        "INSERT INTO research_runs (created_at, name, kind, request_json, status) "
        "VALUES (?, ?, ?, ?, ?)",
        (to_text(created_at), name, kind, request_json, ResearchStatus.QUEUED.value),
    )
    return int(cursor.lastrowid or 0)


def research_run(conn: sqlite3.Connection, run_id: int) -> ResearchRun | None:
    """One run with its request and results (None when there is no such run)."""
    row = conn.execute(f"SELECT {_SUMMARY}, request_json, result_json FROM research_runs "
                       "WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        return None
    result = json.loads(row["result_json"]) if row["result_json"] else None
    return ResearchRun(_summary(row), row["request_json"], result)


def research_runs(conn: sqlite3.Connection, limit: int = 100) -> list[ResearchRunSummary]:
    """The latest runs, newest first, without requests and results."""
    rows = conn.execute(f"SELECT {_SUMMARY} FROM research_runs ORDER BY id DESC LIMIT ?",
                        (limit,)).fetchall()
    return [_summary(row) for row in rows]


def mark_research_running(
    conn: sqlite3.Connection, run_id: int, pid: int, started_at: datetime
) -> None:
    """Record that a process picked the run up."""
    require_transaction(conn, "mark_research_running")
    conn.execute(
        "UPDATE research_runs SET status = ?, pid = ?, started_at = ?, updated_at = ?, "
        "progress = 0, message = 'started' WHERE id = ?",
        (ResearchStatus.RUNNING.value, pid, to_text(started_at), to_text(started_at), run_id),
    )


def update_research_progress(
    conn: sqlite3.Connection, run_id: int, done: int, total: int, message: str, at: datetime
) -> None:
    """Store how many tasks are done of how many, and what the run is doing."""
    require_transaction(conn, "update_research_progress")
    conn.execute(
        "UPDATE research_runs SET progress = ?, tasks_done = ?, tasks_total = ?, message = ?, "
        "updated_at = ? WHERE id = ?",
        (done / total if total else 0.0, done, total, message, to_text(at), run_id),
    )


def request_research_cancel(conn: sqlite3.Connection, run_id: int) -> bool:
    """Raise a queued or running run's cancel flag; return whether it was active."""
    require_transaction(conn, "request_research_cancel")
    cursor = conn.execute(
        "UPDATE research_runs SET cancel_requested = 1 WHERE id = ? AND status IN (?, ?)",
        (run_id, *ACTIVE),
    )
    return cursor.rowcount > 0


def research_cancel_requested(conn: sqlite3.Connection, run_id: int) -> bool:
    """Whether the run's cancel flag is up (a deleted run counts as cancelled)."""
    row = conn.execute("SELECT cancel_requested FROM research_runs WHERE id = ?",
                       (run_id,)).fetchone()
    return row is None or bool(row["cancel_requested"])


def finish_research_run(
    conn: sqlite3.Connection, run_id: int, result: dict[str, Any], message: str,
    finished_at: datetime,
) -> None:
    """Store a run's results and mark it done."""
    require_transaction(conn, "finish_research_run")
    conn.execute(
        "UPDATE research_runs SET status = ?, progress = 1, message = ?, result_json = ?, "
        "finished_at = ?, updated_at = ? WHERE id = ?",
        (ResearchStatus.DONE.value, message, json.dumps(result, sort_keys=True),
         to_text(finished_at), to_text(finished_at), run_id),
    )


def end_research_run(
    conn: sqlite3.Connection, run_id: int, status: ResearchStatus, message: str,
    finished_at: datetime,
) -> None:
    """Mark a run failed or cancelled with the reason a user can act on."""
    require_transaction(conn, "end_research_run")
    conn.execute(
        "UPDATE research_runs SET status = ?, message = ?, finished_at = ?, updated_at = ? "
        "WHERE id = ?",
        (status.value, message, to_text(finished_at), to_text(finished_at), run_id),
    )


def delete_research_run(conn: sqlite3.Connection, run_id: int) -> bool:
    """Delete a run; return whether it existed."""
    require_transaction(conn, "delete_research_run")
    return conn.execute("DELETE FROM research_runs WHERE id = ?", (run_id,)).rowcount > 0
