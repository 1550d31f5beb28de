"""The ``research_finished`` event: a research run ended (done, failed or cancelled).

Written in the same transaction as the run's final status, so the alerter's journal follower
raises one ``research_finished`` alert per run that had a journal row.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from shared.persistence import ops_store


def record_finish(conn: sqlite3.Connection, run_id: int, kind: str, status: str, message: str,
                  at: datetime) -> None:
    """Journal ``research <kind> #<id> <status>: <message>`` (inside the caller's transaction)."""
    what = f"{kind} run #{run_id}" if kind else f"run #{run_id}"
    severity = "info" if status == "done" else "warning"
    ops_store.insert_event(conn, at, "research_finished", severity,
                           f"{what} {status}: {message}", {"run_id": run_id, "status": status},
                           at)
