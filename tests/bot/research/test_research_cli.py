"""``python -m bot research`` end to end in real processes on synthetic data and a CSV file."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.alerts.messages import event_alert
from shared.config.research_request import ResearchKind, ResearchRequest
from shared.domain.alerts import AlertKind
from shared.persistence import alert_feed_store, research_store
from shared.persistence.db import connect, open_database, write_transaction
from tests.bot.backtest.conftest import minute_bars

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
SMALL = ["--bars", "3000", "--strategy", "rsi_macd_bracket", "--commission", "0"]


def research(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "research", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_a_sweep_writes_json_and_csv_and_draws_a_progress_bar(tmp_path):
    out, table = tmp_path / "sweep.json", tmp_path / "sweep.csv"
    grid = tmp_path / "grid.yaml"
    grid.write_text("target_ratio: [1.5, 2]\n")
    done = research("sweep", *SMALL, "--grid", "stop_atr=1.5,3", "--grid-file", str(grid),
                    "--objective", "pnl_minus_drawdown", "--workers", "2", "--json", str(out),
                    "--csv", str(table))
    assert done.returncode == 0, done.stderr
    assert "4/4 tasks 100%" in done.stderr
    document = json.loads(out.read_text())
    assert [p["params"] for p in document["points"]] == [
        {"stop_atr": a, "target_ratio": b} for a in ("1.5", "3") for b in ("1.5", "2")]
    best = max(document["points"], key=lambda p: p["objective"])
    assert document["best"]["params"] == best["params"]
    assert best["objective"] == (best["metrics"]["net_pnl_cents"]
                                 + best["metrics"]["max_drawdown_cents"])
    rows = list(csv.DictReader(table.open()))
    assert [r["stop_atr"] for r in rows] == ["1.5", "1.5", "3", "3"]
    assert [int(r["net_pnl_cents"]) for r in rows] == [
        p["metrics"]["net_pnl_cents"] for p in document["points"]]


def test_walk_forward_from_a_csv_file_reports_windows_stitched_and_stability(tmp_path):
    bars = minute_bars(4000, seed=5)
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "".join(
        f"{b.ts.isoformat()},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in bars))
    out = tmp_path / "wf.json"
    done = research("walk-forward", "--data", str(path), "--strategy", "sma_cross",
                    "--grid", "fast=5,10", "--train-bars", "1500", "--test-bars", "1000",
                    "--anchored", "--json", str(out))
    assert done.returncode == 0, done.stderr
    document = json.loads(out.read_text())
    assert [w["train"] for w in document["windows"]] == [[0, 1500], [0, 2500]]
    assert [w["test"] for w in document["windows"]] == [[1500, 2500], [2500, 3500]]
    assert document["stitched"]["net_pnl_cents"] == sum(
        w["out_of_sample"]["net_pnl_cents"] for w in document["windows"])
    assert document["stability"]["fast"]["values"] == [w["params"]["fast"]
                                                       for w in document["windows"]]


def test_monte_carlo_is_seeded(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for out in (first, second):
        done = research("monte-carlo", *SMALL, "--runs", "3000", "--method", "block",
                        "--block-length", "4", "--mc-seed", "3", "--starting-equity", "2000",
                        "--ruin-equity", "1000", "--json", str(out))
        assert done.returncode == 0, done.stderr
    document = json.loads(first.read_text())
    assert first.read_text() == second.read_text()
    assert document["runs"] == 3000 and 0 <= document["probability_of_ruin"] <= 1
    finals = list(document["percentiles"]["final_pnl_cents"].values())
    assert finals == sorted(finals)


def test_bad_input_exits_2_with_one_line(tmp_path):
    done = research("sweep", *SMALL, "--grid", "nope=1,2")
    assert done.returncode == 2 and "error:" in done.stderr and "Traceback" not in done.stderr
    done = research("sweep", *SMALL)
    assert done.returncode == 2 and "--grid" in done.stderr
    done = research("sweep", *SMALL, "--grid", "stop_atr=2", "--cluster", "nowhere")
    assert done.returncode == 2 and "scheduler address" in done.stderr


def _queue(db: Path, request: ResearchRequest) -> int:
    conn = open_database(db)
    with write_transaction(conn):
        run_id = research_store.insert_research_run(conn, request.kind.value, request.to_json(),
                                                    research_store_now(), "queued")
    conn.close()
    return run_id


def research_store_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _row(db: Path, run_id: int):
    conn = connect(db, readonly=True)
    try:
        return research_store.research_run(conn, run_id)
    finally:
        conn.close()


def _slow_request() -> ResearchRequest:
    return ResearchRequest.model_validate({
        "kind": "sweep", "workers": 2,
        "backtest": {"bars": 20000, "strategy": None, "commission_usd": 0},
        "grid": {"risk.max_hold_minutes": [str(m) for m in range(10, 90, 5)]}})


def _wait_running(db: Path, run_id: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = _row(db, run_id)
        if row and row.summary.tasks_done >= 1:
            return
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        time.sleep(0.1)
    raise AssertionError("the run never reported a finished task")


def test_a_stored_run_reports_progress_and_honours_the_cancel_flag(tmp_path):
    """Cancelled through ``--cancel-all``, as ``make stop`` does."""
    db = tmp_path / "t.db"
    done_id = _queue(db, ResearchRequest(kind=ResearchKind.SWEEP, backtest={"bars": 3000,
                     "strategy": "rsi_macd_bracket"}, grid={"stop_atr": ["1.5", "3"]}))
    finished = research("--run-id", str(done_id), "--db", str(db))
    assert finished.returncode == 0, finished.stderr
    row = _row(db, done_id)
    assert row.summary.status == "done" and row.summary.tasks_done == 2
    assert len(row.result["points"]) == 2
    run_id = _queue(db, _slow_request())
    process = subprocess.Popen([sys.executable, "-m", "bot", "research", "--run-id",
                                str(run_id), "--db", str(db)], cwd=ROOT,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    _wait_running(db, run_id, process)
    assert research("--cancel-all", "--db", str(db)).returncode == 0  # what make stop runs
    assert process.wait(timeout=30) == 3
    row = _row(db, run_id)
    assert row.summary.status == "cancelled" and "cancelled after" in row.summary.message
    assert row.summary.tasks_done < 16
    conn = connect(db, readonly=True)
    try:  # each end is one research_finished event, which the alerter turns into an alert
        alerts = [event_alert(e) for e in alert_feed_store.events_between(conn, 0, 10**9)]
    finally:
        conn.close()
    told = [a.headline for a in alerts if a and a.kind == AlertKind.RESEARCH_FINISHED]
    assert told == [f"Research finished: sweep run #{done_id} done: 2 points; best stop_atr="
                    f"{_row(db, done_id).result['best']['params']['stop_atr']}",
                    f"Research finished: run #{run_id} cancelled: {row.summary.message}"]


def test_sigterm_stops_a_run_within_seconds_and_leaves_no_worker(tmp_path):
    db = tmp_path / "t.db"
    run_id = _queue(db, _slow_request())
    process = subprocess.Popen([sys.executable, "-m", "bot", "research", "--run-id",
                                str(run_id), "--db", str(db)], cwd=ROOT,
                               stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    _wait_running(db, run_id, process)
    descendants = _descendants(process.pid)
    assert len(descendants) >= 2  # the pool's workers (and the fork server they come from)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=15) == 3
    assert _row(db, run_id).summary.status == "cancelled"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in descendants):
        time.sleep(0.1)
    assert [pid for pid in descendants if _alive(pid)] == []


def _descendants(pid: int) -> list[int]:
    found = [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                            text=True).stdout.split()]
    return found + [grandchild for child in found for grandchild in _descendants(child)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()
