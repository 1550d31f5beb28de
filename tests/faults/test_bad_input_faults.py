"""Bad input against the real processes: config edits, replay files, an exposed dashboard."""

from __future__ import annotations

import pytest

from shared.persistence import ops_store
from tests.faults.bad_input import (
    BAD_CONFIG_EDITS,
    bad_config_edits,
    dashboard_with_password,
    dashboard_without_password,
    out_of_order_replay_file,
    unusable_replay_file,
)
from tests.integration.botproc import heartbeat, query

pytestmark = pytest.mark.integration


def test_bad_config_edits_are_refused_and_the_bot_keeps_its_config(tmp_path):
    results = bad_config_edits(tmp_path)
    assert [r.fault for r in results] == [f"config_{name}" for name in BAD_CONFIG_EDITS]
    assert [r.fault for r in results if not r.survived] == [], results
    messages = {r.fault: r.detail for r in results}
    path = tmp_path / "config.yaml"
    assert messages["config_garbage_yaml"].startswith("error: invalid config: not valid YAML")
    assert messages["config_empty"] == f"error: invalid config: config file {path} is empty"
    assert messages["config_whitespace_only"] == messages["config_empty"]
    assert messages["config_binary"].startswith(
        f"error: invalid config: config file {path} is not UTF-8 text")
    assert messages["config_infinite_loss_limit"] == (
        "error: invalid config: risk.daily_loss_limit_usd: Input should be a finite number")
    assert messages["config_nan_risk_per_trade"] == (
        "error: invalid config: risk.risk_per_trade_usd: Input should be a finite number")
    assert messages["config_huge_max_hold"].startswith(
        "error: invalid config: risk.max_hold_minutes: Value error, 1e+308 is out of range")
    assert messages["config_oversize_file"] == (
        f"error: invalid config: config file {path} is 1,500,025 bytes, more than the "
        "1,000,000 a config may have: not read (is it the right file?)")


@pytest.mark.parametrize(("kind", "reason"), [
    ("binary", " line 1: binary data (a NUL byte), not CSV text"),
    ("non_utf8", " line 5: not UTF-8 text (byte 0xe9)"),
    ("empty", ": the file is empty"),
    ("wrong_columns", ": missing column(s) timestamp, open, high, low, close, volume; "
                      "found 2 column(s), none recognised"),
])
def test_an_unusable_replay_file_exits_2_with_the_backtests_line(tmp_path, kind, reason):
    result = unusable_replay_file(tmp_path, kind)
    assert result.survived, result.detail
    assert f"{kind}.csv{reason}" in result.detail
    db = tmp_path / f"{kind}.db"
    feed_errors = [e for e in query(db, ops_store.recent_events, 50) if e.kind == "feed_error"]
    assert len(feed_errors) == 1 and reason.lstrip(": ") in feed_errors[0].message
    assert heartbeat(db).status == "refused"


def test_rows_out_of_order_are_played_sorted_and_reported_by_both_paths(tmp_path):
    result = out_of_order_replay_file(tmp_path)
    assert result.survived, result.detail


@pytest.mark.parametrize("address", ["0.0.0.0", ""])
def test_the_dashboard_refuses_to_start_off_loopback_without_a_password(address):
    result = dashboard_without_password(address)
    assert result.survived, result.detail
    shown = address or "all interfaces (server.address is empty)"
    assert f"refusing to start the dashboard on {shown} without DASHBOARD_PASSWORD" in (
        result.detail)


def test_the_dashboard_serves_off_loopback_with_a_password():
    result = dashboard_with_password("0.0.0.0")
    assert result.survived, result.detail
