"""The live-account guard (DESIGN §4.5) and ``python -m bot fetch-history`` against the fake."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pandas as pd
import pytest

from tests.fakeib.control import FakeGatewayThread, free_port
from tests.fakeib.server import GatewayConfig
from tests.integration.botproc import REPO_ROOT, heartbeat, start_bot, stop_bot, wait_for
from tests.integration.ibbot import events, ib_config

pytestmark = pytest.mark.integration


def _run_refused(tmp_path, config, extra_env=None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRADER_ALLOW_LIVE"}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(config), "--db",
         str(tmp_path / "t.db")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, env=env,
    )


@pytest.mark.parametrize(("sections", "env"), [
    ({"broker": {"mode": "ib_live"}}, {}),
    ({"broker": {"mode": "ib_live", "allow_live": True}}, {}),
    ({"broker": {"mode": "ib_live"}}, {"TRADER_ALLOW_LIVE": "yes"}),
    ({"ib": {"port": 4001}}, {}),
    ({"ib": {"port": 7496}, "broker": {"allow_live": True}}, {}),
])
def test_live_mode_or_live_port_without_flag_and_env_is_refused(tmp_path, sections, env):
    result = _run_refused(tmp_path, ib_config(tmp_path, free_port(), **sections), env)
    assert result.returncode == 2
    assert "refusing to trade a live account" in result.stderr
    assert "allow_live" in result.stderr and "TRADER_ALLOW_LIVE=yes" in result.stderr
    assert not (tmp_path / "t.db").exists()


def test_a_gateway_logged_in_to_a_live_account_is_refused_at_connect(tmp_path):
    fake = FakeGatewayThread(GatewayConfig(account="U7654321")).start()
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    try:
        process = start_bot(ib_config(tmp_path, fake.port), db, log)
        code = process.wait(timeout=60)
        assert code == 2, log.read_text()
        refused = events(db, "live_account_refused")
        assert refused and "U7654321" in refused[0].message
        assert heartbeat(db).status == "refused" and not fake.placed_orders()
    finally:
        fake.close()


def test_a_live_account_trades_with_both_the_flag_and_the_env(tmp_path):
    fake = FakeGatewayThread(GatewayConfig(account="U7654321")).start()
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    config = ib_config(tmp_path, fake.port, broker={"mode": "ib_live", "allow_live": True})
    process = start_bot(config, db, log, {"TRADER_ALLOW_LIVE": "yes"})
    try:
        wait_for(lambda: (h := heartbeat(db)) and h.broker_connected == 1, 30,
                 "the live-mode bot connected", process, log)
        assert "U7654321" in events(db, "ib_connected")[0].message
        assert heartbeat(db).mode == "ib_live"
    finally:
        code, _ = stop_bot(process)
        fake.close()
    assert code == 0


def test_fetch_history_writes_a_parquet_day_within_pacing_and_reuses_the_cache(tmp_path):
    start = datetime(2025, 3, 4, 0, 10, tzinfo=UTC)
    fake = FakeGatewayThread(GatewayConfig(start=start, history_bars=17_400)).start()
    fake.pause_bars()
    out = tmp_path / "history"
    command = [sys.executable, "-m", "bot", "fetch-history", "--config",
               str(ib_config(tmp_path, fake.port)), "--symbol", "MES", "--days", "1",
               "--bar", "1min", "--out", str(out)]
    try:
        first = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                               timeout=120)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "1/1" in first.stderr  # the progress bar
        requests_after_first = len(fake.requests("20"))
        second = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 0, second.stdout + second.stderr
        assert len(fake.requests("20")) == requests_after_first  # served from the cache
        day = datetime(2025, 3, 3, tzinfo=UTC)
        expected = fake.call(lambda: fake.gateway.path.window(
            datetime(2025, 3, 4, tzinfo=UTC), 86_400, 60))
    finally:
        fake.close()
    frame = pd.read_parquet(out / "MES" / "1min" / "2025-03-03.parquet")
    assert len(frame) == 1440 and frame["ts"].iloc[0] == pd.Timestamp(day)
    assert list(frame["close"]) == [b.close for b in expected]
    assert list(frame["volume"]) == [b.volume for b in expected]
