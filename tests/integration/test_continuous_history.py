"""``fetch-history --continuous`` against the fake gateway: rolls by the live rule, measured,
journaled, spliced; the level-shift detector finds the unadjusted roll and not the adjusted."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pandas as pd
import pytest

from bot.adapters.feeds.replay import load_bars
from bot.backtest.data import file_data
from shared.persistence import ops_store
from shared.persistence.db import connect
from tests.fakeib.control import FakeGatewayThread
from tests.fakeib.server import GatewayConfig
from tests.integration.ibbot import ib_config
from tests.support import REPO_ROOT

pytestmark = pytest.mark.integration

# MESH5 expires 2025-03-21; eight days before, on 03-13, the live rule trades MESM5.
START = datetime(2025, 3, 15, 0, 10, tzinfo=UTC)
BASIS_POINTS = 60.0  # MESM5 history trades 60 points over MESH5 (about a quarter's carry)
DAY_BARS_5S = 17_280


def fetch(tmp_path, port: int, method: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot", "fetch-history", "--config",
               str(ib_config(tmp_path, port)), "--symbol", "MES", "--days", "4", "--bar",
               "1min", "--out", str(tmp_path / "history"), "--db", str(tmp_path / "t.db"),
               "--continuous", method]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


def test_the_roll_is_measured_journaled_and_back_adjusted_away(tmp_path):
    fake = FakeGatewayThread(GatewayConfig(start=START, history_bars=4 * DAY_BARS_5S + 200,
                                           contract_basis_points=BASIS_POINTS)).start()
    fake.pause_bars()
    try:
        adjusted = fetch(tmp_path, fake.port, "back-adjusted")
        assert adjusted.returncode == 0, adjusted.stdout + adjusted.stderr
        requests = len(fake.requests("20"))
        plain = fetch(tmp_path, fake.port, "none")  # days and the roll come from the cache
        assert plain.returncode == 0, plain.stdout + plain.stderr
        assert len(fake.requests("20")) == requests
    finally:
        fake.close()
    folder = tmp_path / "history" / "MES"
    rolls = pd.read_csv(folder / "1min-rolls.csv")
    assert rolls[["at", "from_symbol", "to_symbol", "gap_points"]].values.tolist() == [
        ["2025-03-13T00:00:00+00:00", "MESH5", "MESM5", BASIS_POINTS]]
    raw = file_data(folder / "1min", "UTC", None, 0.25)
    series = file_data(folder / "1min-back-adjusted.parquet", "UTC", None, 0.25)
    roll_ns = pd.Timestamp("2025-03-13", tz="UTC").value
    before = raw.ts_ns < roll_ns
    assert len(series) == len(raw) == 4 * 1440 and before.sum() == 2 * 1440
    assert (series.close[before] == raw.close[before] + BASIS_POINTS).all()
    assert (series.close[~before] == raw.close[~before]).all()
    replayed = load_bars(folder / "1min-back-adjusted.parquet")  # the replay feed's reader
    assert len(replayed.bars) == len(series) and not replayed.problems
    # Across the splice the adjusted series moves as the price path did; the raw one jumps.
    last, first = int(before.sum()) - 1, int(before.sum())
    assert raw.close[first] - raw.close[last] == pytest.approx(
        series.close[first] - series.close[last] + BASIS_POINTS)
    assert "1 roll(s), 0 splice(s) at rolls, 0 elsewhere" in adjusted.stdout
    assert "1 roll(s), 1 splice(s) at rolls, 0 elsewhere" in plain.stdout
    conn = connect(tmp_path / "t.db", readonly=True)
    try:
        kinds = [(e.kind, e.message) for e in ops_store.recent_events(conn, 50)]
    finally:
        conn.close()
    old_close = float(rolls["old_close"][0])
    assert [m for k, m in kinds if k == "history_roll"] == [
        "roll MESH5 -> MESM5 from 2025-03-13 00:00 UTC: gap +60.00 points (ratio "
        f"{(old_close + BASIS_POINTS) / old_close:.6f})"]
    assert not [k for k, _ in kinds if k == "history_splice"]
