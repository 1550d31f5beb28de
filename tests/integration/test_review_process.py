"""``python -m bot review`` as a process: one day by hand, bad input, and the nightly program
that catches up the last closed day, then waits for the next close until SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from shared.persistence import rules_store
from tests.bot.learning.journal import (
    LOOSE_RISK,
    REVIEWED_DAY,
    multi_day_bars,
    multi_day_settings,
    seed_journal,
)
from tests.integration.botproc import REPO_ROOT, query, wait_for, write_config


def _review(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "review", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


def test_review_of_a_day_by_hand_proposes_rules(tmp_path):
    db = tmp_path / "trader.db"
    seed_journal(db, multi_day_settings(), multi_day_bars())
    config = write_config(tmp_path, "config.yaml", {
        "risk": LOOSE_RISK, "feed": {"bar_seconds": 60},
        "learning": {"lookback_days": 5, "backtest_days": 3, "min_sample": 10}})
    done = _review("--day", REVIEWED_DAY, "--db", str(db), "--config", str(config))
    assert done.returncode == 0, done.stderr
    rules = query(db, rules_store.rules)
    assert rules and all(r.status.value == "proposed" for r in rules)
    assert f"rule #{rules[0].id} proposed" in done.stdout
    # mined on 2025-03-03..07, judged out of sample on the three days after
    assert all(r.backtest["days"] == ["2025-03-10", "2025-03-11", "2025-03-12"]
               and r.evidence["in_sample"]["days"] == ["2025-03-03", "2025-03-07"]
               for r in rules)


def test_a_day_that_is_not_a_trading_day_exits_2(tmp_path):
    bad = _review("--day", "2025-03-08", "--db", str(tmp_path / "t.db"))
    assert bad.returncode == 2 and "not a CME trading day" in bad.stderr


def test_the_nightly_program_catches_up_and_stops_on_sigterm(tmp_path):
    db = tmp_path / "trader.db"
    config = write_config(tmp_path, "config.yaml", {"learning": {"review_delay_minutes": 0}})
    log = tmp_path / "review.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "review", "--nightly", "--db", str(db), "--config",
             str(config)], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        runs = wait_for(lambda: query(db, rules_store.review_runs), 60,
                        "the catch-up review", process, log)
        assert runs[0].status == "done" and runs[0].message.startswith("0 rule(s) proposed")
        wait_for(lambda: "next review: trading day" in log.read_text(), 30,
                 "the wait for the next close", process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    assert code == 0 and "nightly review stopped" in log.read_text()


def test_a_gate_beyond_bar_retention_is_refused_when_the_config_is_saved(tmp_path):
    db = tmp_path / "trader.db"
    config = write_config(tmp_path, "config.yaml", {"learning": {"backtest_days": 6}})
    refused = subprocess.run([sys.executable, "-m", "bot", "config", "import", str(config),
                              "--db", str(db)], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode == 2, refused.stderr
    assert "learning.backtest_days 6" in refused.stderr
    assert "engine.bars_retention_days 7" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not db.exists() or query(db, lambda c: c.execute(
        "SELECT COUNT(*) FROM config_versions").fetchone()[0]) == 0
