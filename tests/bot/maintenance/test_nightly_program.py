"""The nightly program (``review --nightly``) runs the journal's maintenance after its review."""

from __future__ import annotations

import argparse
import itertools
import threading
from datetime import timedelta

import pytest

from bot.learning import review_cli
from bot.maintenance import nightly
from shared.persistence import db_size_store, rules_store
from shared.persistence.db import connect
from tests.bot.maintenance.journal_rows import NOW, add_decision, ids

pytestmark = pytest.mark.unit


def test_after_each_nightly_review_the_maintenance_runs_on_the_same_journal(
        conn, tmp_path, monkeypatch):
    old = add_decision(conn, NOW - 30 * 24 * timedelta(hours=1))
    newest = add_decision(conn, NOW)
    conn.close()
    config = tmp_path / "c.yaml"
    config.write_text("maintenance:\n  backup_keep: 1\n")
    weeks = itertools.count()  # every reading of the wall clock is a week later: each next
    monkeypatch.setattr(review_cli, "wall_clock_utc",  # session close is due at once
                        lambda: NOW + next(weeks) * timedelta(days=7))
    monkeypatch.setattr(review_cli.signal, "signal", lambda *_: None)
    runs = []

    def maintenance_then_stop(db_path, config, now, stop):
        nightly.safe_maintenance(db_path, config, now, stop)
        runs.append(db_path)
        stop.set()  # one night is enough: end the loop as SIGTERM would

    monkeypatch.setattr(review_cli, "safe_maintenance", maintenance_then_stop)
    args = argparse.Namespace(config=str(config), db=str(tmp_path / "t.db"), nightly=True)
    codes: list[int] = []
    loop = threading.Thread(target=lambda: codes.append(review_cli.command_review(args)),
                            daemon=True)
    loop.start()
    loop.join(120)
    assert codes == [0], "the nightly loop did not end after its first night"

    assert runs == [tmp_path / "t.db"]
    reader = connect(tmp_path / "t.db", readonly=True)
    try:
        assert [r.status for r in rules_store.review_runs(reader, 10)].count("done") >= 1
        [run] = db_size_store.recent_runs(reader)
        assert run.status == "done" and run.deleted["decisions"] == 1 and run.backup_path
        assert ids(reader, "decisions") == [newest] and old not in ids(reader, "decisions")
    finally:
        reader.close()
