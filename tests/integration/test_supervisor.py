"""`make run` under supervisord in a temp copy of the project: health, heartbeat, control, stop."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.persistence import ops_store
from shared.supervisor import process_info, start_process
from tests.integration.botproc import REPO_ROOT, query, wait_for

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_project(target: Path) -> None:
    """Copy the project's files (tracked and new, not ignored), keeping their times."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    (target / ".venv").symlink_to(REPO_ROOT / ".venv")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(url, timeout=1).read() == b"ok"
    except OSError:
        return False


def fresh_heartbeat(db: Path, pid: int) -> ops_store.Heartbeat | None:
    state = query(db, ops_store.read_bot_state)
    if not state or state.pid != pid or state.status != "running":
        return None
    age_s = (datetime.now(UTC) - state.heartbeat_at).total_seconds()
    return state if age_s < 10 else None


def test_make_run_supervises_bot_dashboard_alerter_review_and_make_stop_leaves_nothing(tmp_path):
    project = tmp_path / "p"
    copy_project(project)
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("TRADER_DB", "TRADER_CONFIG", "SUPERVISOR_URL")
           and not k.startswith("ALERT_")}
    env["STREAMLIT_SERVER_PORT"] = str(port)
    ctl = [str(project / ".venv/bin/supervisorctl"), "-c", str(project / "supervisord.conf")]
    url = f"unix://{project / 'var/run/supervisor.sock'}"
    db = project / "data/trader.db"
    pids: set[int] = set()
    try:
        run = subprocess.run(["make", "run"], cwd=project, env=env, capture_output=True,
                             text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        pids.add(int((project / "var/run/supervisord.pid").read_text()))
        wait_for(lambda: healthy(f"http://127.0.0.1:{port}/_stcore/health"), 60,
                 "the dashboard's health endpoint")
        bot = wait_for(lambda: (i := process_info("bot", url)).state == "RUNNING" and i, 60,
                       "the bot RUNNING")
        dashboard = process_info("dashboard", url)
        alerts = wait_for(lambda: (i := process_info("alerts", url)).state == "RUNNING" and i,
                          60, "the alerter RUNNING")
        review = wait_for(lambda: (i := process_info("review", url)).state == "RUNNING" and i,
                          60, "the nightly review RUNNING")
        pids |= {bot.pid, dashboard.pid, alerts.pid, review.pid}
        wait_for(lambda: fresh_heartbeat(db, bot.pid), 60, "a fresh heartbeat")

        stopped = subprocess.run([*ctl, "stop", "bot"], capture_output=True, text=True,
                                 timeout=60)
        assert "bot: stopped" in stopped.stdout
        assert process_info("bot", url).state == "STOPPED"
        assert query(db, ops_store.read_bot_state).status == "stopped"
        assert not alive(bot.pid)

        assert start_process("bot", wait=True, url=url) == "bot starting"
        restarted = process_info("bot", url)
        assert restarted.state == "RUNNING" and restarted.pid != bot.pid
        pids.add(restarted.pid)
        wait_for(lambda: fresh_heartbeat(db, restarted.pid), 60, "the restarted bot's heartbeat")
    finally:
        stop = subprocess.run(["make", "stop"], cwd=project, env=env, capture_output=True,
                              text=True, timeout=120)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert [pid for pid in pids if alive(pid)] == []
    assert not (project / "var/run/supervisor.sock").exists()
