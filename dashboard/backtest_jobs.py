"""Backtest processes the dashboard starts: launch, cancel, delete, and telling a lost run.

A run is started as ``python -m bot backtest --run-id N`` in the dashboard's own process group
(no new session), so whatever stops the dashboard's group stops its backtests too:
supervisord's ``stopasgroup`` on ``make stop``, Ctrl-C in a terminal. The backtest takes that
SIGTERM as a cancel and marks its run cancelled. Cancel from the page only sets the run's flag
(the dashboard writes requests, the backtest acts). A queued or running run whose process has
gone without a word (kill -9, a crash) is marked lost when the page next looks.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from dashboard.status import process_alive
from shared.config.backtest_request import ACTIVE_STATUSES, RunStatus, launch_command
from shared.persistence import backtest_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
QUEUED_GRACE = timedelta(seconds=60)
_children: dict[int, subprocess.Popen[bytes]] = {}


def log_path(db_path: Path, run_id: int) -> Path:
    """The run's own log file (ids are never reused, and a new run truncates its file)."""
    return db_path.parent / "backtests" / f"run-{run_id}.log"


def launch(conn: sqlite3.Connection, run_id: int, db_path: Path) -> int:
    """Start the backtest process of a queued run; record and return its pid."""
    path = log_path(db_path, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as log:
        child = subprocess.Popen(launch_command(sys.executable, run_id, str(db_path)),
                                 cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    _children[child.pid] = child
    with write_transaction(conn):
        backtest_store.record_backtest_pid(conn, run_id, child.pid)
    return child.pid


def reap() -> None:
    """Collect the exit status of finished children (no zombies standing in for live runs)."""
    for pid, child in list(_children.items()):
        if child.poll() is not None:
            del _children[pid]


def run_process_alive(pid: int | None, run_id: int) -> bool:
    """Whether ``pid`` is still the backtest of ``run_id`` (not a zombie or a reused pid)."""
    reap()
    if not process_alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True  # no /proc: trust the pid check
    try:
        argv = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return b"--run-id" in argv and str(run_id).encode() in argv


def mark_lost_runs(conn: sqlite3.Connection, runs: list[dict], now: datetime) -> list[int]:
    """Mark queued/running runs whose process is gone as lost; return their ids."""
    lost = []
    for run in runs:
        if run["status"] not in ACTIVE_STATUSES:
            continue
        if run["pid"] is None:
            created = datetime.fromisoformat(run["created_at"])
            if now - created < QUEUED_GRACE:
                continue
        elif run_process_alive(run["pid"], run["id"]):
            continue
        with write_transaction(conn):
            ended = backtest_store.end_backtest_run(
                conn, run["id"], RunStatus.LOST,
                "its process is gone (killed, or the machine restarted); run it again", now)
        if ended:
            lost.append(run["id"])
    return lost


def cancel(conn: sqlite3.Connection, run: dict, now: datetime) -> str:
    """Ask a run to stop (its process sees the flag at its next progress tick)."""
    with write_transaction(conn):
        asked = backtest_store.request_backtest_cancel(conn, run["id"], now)
    if not asked:
        return f"Run {run['id']} had already ended"
    if not run_process_alive(run["pid"], run["id"]):
        with write_transaction(conn):
            backtest_store.end_backtest_run(conn, run["id"], RunStatus.CANCELLED,
                                            "cancelled from the dashboard", now)
    return f"Run {run['id']}: cancel requested"


def delete(conn: sqlite3.Connection, run: dict, now: datetime, db_path: Path) -> str:
    """Delete a run whatever its state (a live one is asked to stop first) and its log."""
    if run["status"] in ACTIVE_STATUSES:
        with write_transaction(conn):
            backtest_store.request_backtest_cancel(conn, run["id"], now)
    with write_transaction(conn):
        backtest_store.delete_backtest_run(conn, run["id"])
    log_path(db_path, run["id"]).unlink(missing_ok=True)
    return f"Run {run['id']} deleted"
