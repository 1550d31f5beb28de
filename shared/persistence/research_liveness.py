"""Research runs whose process is gone are failed, not "running" forever.

``python -m bot research`` records its pid when it starts a run and ends the row itself on
success, error, cancel or SIGTERM. Killed outright (kill -9, its process group killed) it ends
nothing; whoever reads the runs next (the Research page, ``research --cancel-all`` that
``make stop`` runs) finds the pid gone and fails the row with the reason, at once, instead of
waiting for a cancel the dead process can never honour.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from shared.config.research_request import ResearchStatus
from shared.persistence.codec import to_text
from shared.persistence.db import require_transaction
from shared.persistence.research_store import ResearchRunSummary
from shared.process_check import process_running

RUNNER_NEEDLE = "research"  # in the command line of every research process


def lost_runs(
    runs: Sequence[ResearchRunSummary],
    alive: Callable[[int | None, str], bool] = process_running,
) -> list[ResearchRunSummary]:
    """The running runs whose recorded process is gone."""
    return [run for run in runs if run.status == ResearchStatus.RUNNING.value
            and run.pid is not None and not alive(run.pid, RUNNER_NEEDLE)]


def fail_lost_runs(
    conn: sqlite3.Connection, runs: Sequence[ResearchRunSummary], at: datetime
) -> int:
    """Fail each run (still running under the same pid) with why; return how many changed."""
    require_transaction(conn, "fail_lost_runs")
    changed = 0
    for run in runs:
        message = (f"its process (pid {run.pid}) is gone: killed or crashed after "
                   f"{run.tasks_done} of {run.tasks_total} tasks; no results")
        changed += conn.execute(
            "UPDATE research_runs SET status = ?, message = ?, finished_at = ?, updated_at = ? "
            "WHERE id = ? AND pid = ? AND status = ?",
            (ResearchStatus.FAILED.value, message, to_text(at), to_text(at), run.id, run.pid,
             ResearchStatus.RUNNING.value),
        ).rowcount
    return changed
