"""A research run whose process group is killed is failed with why, not "running" forever.

Issue 19: a run killed with its process group stayed "running", and its cancel waited on a
process that no longer existed. Whoever reads the runs next (``research --cancel-all``, which
``make stop`` runs, and the Research page) now fails it at once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from shared.persistence import research_liveness, research_store
from shared.persistence.db import write_transaction
from tests.bot.research.test_research_cli import (
    ROOT,
    _queue,
    _row,
    _slow_request,
    _wait_running,
    research,
)
from tests.support import open_migrated_journal

pytestmark = pytest.mark.integration


def test_a_killed_process_group_fails_its_run_at_the_next_cancel_all(tmp_path):
    db = tmp_path / "t.db"
    run_id = _queue(db, _slow_request())
    process = subprocess.Popen([sys.executable, "-m", "bot", "research", "--run-id",
                                str(run_id), "--db", str(db)], cwd=ROOT, start_new_session=True,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    _wait_running(db, run_id, process)
    os.killpg(process.pid, signal.SIGKILL)  # the runner and its pool's workers at once
    process.wait(timeout=30)
    assert _row(db, run_id).summary.status == "running"  # nothing left to say otherwise

    started = time.monotonic()
    assert research("--cancel-all", "--db", str(db)).returncode == 0  # what make stop runs
    assert time.monotonic() - started < 30
    row = _row(db, run_id).summary
    assert row.status == "failed" and not row.active
    assert row.message.startswith(f"its process (pid {process.pid}) is gone: killed or crashed")


def test_only_running_rows_whose_process_is_gone_are_failed(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "research"])
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    conn = open_migrated_journal(tmp_path / "t.db")
    now = datetime.now(UTC)
    try:
        with write_transaction(conn):
            ids = [research_store.insert_research_run(conn, "sweep", "{}", now, name)
                   for name in ("gone", "live", "reused pid", "queued")]
            for run_id, pid in zip(ids, (gone.pid, live.pid, other.pid), strict=False):
                research_store.mark_research_running(conn, run_id, pid, now)
        runs = research_store.research_runs(conn)
        lost = research_liveness.lost_runs(runs)
        assert sorted(r.name for r in lost) == ["gone", "reused pid"]
        with write_transaction(conn):
            assert research_liveness.fail_lost_runs(conn, lost, now) == 2
            assert research_liveness.fail_lost_runs(conn, lost, now) == 0  # once only
        status = {r.name: r.status for r in research_store.research_runs(conn)}
        assert status == {"gone": "failed", "live": "running", "reused pid": "failed",
                          "queued": "queued"}
    finally:
        conn.close()
        for child in (live, other):
            child.kill()
            child.wait()
