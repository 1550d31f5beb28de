"""A stored backtest run stops when cancelled: the page's flag, SIGTERM (the dashboard's process
group stopping, as supervisord's stopasgroup does on ``make stop``), or a kill -9 seen as lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dashboard import backtest_jobs
from shared.config.backtest_request import BacktestRequest, launch_command
from shared.persistence import backtest_store
from shared.persistence.db import open_database, write_transaction
from tests.integration.botproc import REPO_ROOT, query, wait_for

pytestmark = pytest.mark.integration
LONG_RUN = BacktestRequest(bars=3_000_000, strategy="sma_cross")


def _start(db: Path, tmp_path: Path, progressed: bool = True
           ) -> tuple[int, subprocess.Popen[bytes]]:
    conn = open_database(db)
    with write_transaction(conn):
        run_id = backtest_store.insert_backtest_run(conn, LONG_RUN.to_json(), datetime.now(UTC))
    conn.close()
    log = (tmp_path / f"run-{run_id}.log").open("wb")
    process = subprocess.Popen(launch_command(sys.executable, run_id, str(db)), cwd=REPO_ROOT,
                               stdout=log, stderr=subprocess.STDOUT)
    wait_for(lambda: (r := query(db, backtest_store.backtest_run, run_id))
             and r["status"] == "running" and (r["progress"] > 0 or not progressed), 120,
             "the run to make progress", process, tmp_path / f"run-{run_id}.log")
    return run_id, process


@pytest.mark.parametrize("progressed", [True, False], ids=["computing", "loading"])
def test_the_cancel_flag_stops_the_run_and_marks_it_cancelled(tmp_path, progressed):
    """Honoured between progress ticks and, through the watcher, while the data loads."""
    db = tmp_path / "t.db"
    run_id, process = _start(db, tmp_path, progressed)
    conn = open_database(db)
    with write_transaction(conn):
        assert backtest_store.request_backtest_cancel(conn, run_id, datetime.now(UTC))
    conn.close()
    assert process.wait(timeout=60) == 4
    run = query(db, backtest_store.backtest_run, run_id)
    assert run["status"] == "cancelled" and "dashboard" in run["message"]


def test_sigterm_marks_the_run_cancelled(tmp_path):
    db = tmp_path / "t.db"
    run_id, process = _start(db, tmp_path)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 4
    run = query(db, backtest_store.backtest_run, run_id)
    assert run["status"] == "cancelled" and "SIGTERM" in run["message"]


def test_a_killed_run_is_marked_lost_not_running_forever(tmp_path):
    db = tmp_path / "t.db"
    run_id, process = _start(db, tmp_path)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    runs = query(db, backtest_store.backtest_runs)
    conn = open_database(db)
    assert backtest_jobs.mark_lost_runs(conn, runs, datetime.now(UTC)) == [run_id]
    conn.close()
    assert query(db, backtest_store.backtest_run, run_id)["status"] == "lost"
