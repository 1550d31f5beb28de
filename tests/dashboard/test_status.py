"""The sidebar's bot status: supervisord's state and the heartbeat's age, never the last beat
alone; entries allowed only without a halt or a risk block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard.status import Liveness, bot_status
from shared.persistence.ops_store import Heartbeat
from shared.supervisor import ProcessInfo

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
RUNNING = ProcessInfo("bot", "RUNNING", "pid 42, uptime 0:01:00", 42)
STOPPED = ProcessInfo("bot", "STOPPED", "Jan 05 03:00 PM", 0)
NO_SUPERVISOR = ProcessInfo("bot", "UNKNOWN", "supervisor unreachable", 0)


def beat(age_s: float = 2, **changes) -> Heartbeat:
    values = {"heartbeat_at": NOW - timedelta(seconds=age_s), "mode": "paper", "symbol": "MES",
              "status": "running", "pid": 42, "broker_connected": True}
    return Heartbeat(**{**values, **changes})


def test_running_bot_with_a_fresh_beat_is_connected_and_allowed():
    status = bot_status(RUNNING, beat(), NOW, 5)
    assert status.running and status.broker_line == "Broker: connected"
    assert status.entries_line == "Entries: allowed" and status.entries_allowed


def test_stopped_by_supervisor_never_says_connected_or_allowed_even_with_a_fresh_beat():
    status = bot_status(STOPPED, beat(age_s=2), NOW, 5)
    assert status.liveness is Liveness.STOPPED
    assert "connected" not in status.broker_line.replace("unknown", "")
    assert "allowed" not in status.entries_line and not status.entries_allowed


def test_without_supervisor_a_dead_pid_means_stopped():
    status = bot_status(NO_SUPERVISOR, beat(age_s=1), NOW, 5, pid_alive=False)
    assert status.liveness is Liveness.STOPPED and not status.entries_allowed


def test_a_stale_beat_is_not_responding():
    status = bot_status(RUNNING, beat(age_s=120), NOW, 5)
    assert status.liveness is Liveness.NOT_RESPONDING and status.stale
    assert "Entries: none" in status.entries_line


def test_a_clean_stop_heartbeat_says_stopped():
    status = bot_status(NO_SUPERVISOR, beat(status="stopped"), NOW, 5, pid_alive=True)
    assert status.liveness is Liveness.STOPPED


def test_a_new_process_that_has_not_beaten_yet_is_starting():
    status = bot_status(ProcessInfo("bot", "RUNNING", "", 77), beat(), NOW, 5)
    assert status.liveness is Liveness.STARTING and not status.entries_allowed


def test_risk_day_ended_blocks_entries():
    status = bot_status(RUNNING, beat(entries_blocked_reason="3 losses in a row (max 3)"),
                        NOW, 5)
    assert status.running and not status.entries_allowed
    assert "blocked" in status.entries_line and "3 losses in a row" in status.entries_line


def test_halt_blocks_entries_with_its_reason():
    status = bot_status(RUNNING, beat(halted=True, halt_reason="flatten"), NOW, 5)
    assert "halted" in status.entries_line and "flatten" in status.entries_line


def test_a_live_bot_in_fault_says_fault_with_its_reason_never_running_or_allowed():
    reason = "engine fault: OverflowError: cannot convert float infinity to integer"
    faulted = beat(status="fault", halted=True, halt_reason=reason)
    status = bot_status(RUNNING, faulted, NOW, 5)
    assert status.liveness is Liveness.FAULT and not status.running
    assert status.entries_line == f"Entries: **halted** ({reason})" and not status.entries_allowed
    assert bot_status(NO_SUPERVISOR, faulted, NOW, 5, pid_alive=True).liveness is Liveness.FAULT
    # a journal fault's last beat, its process gone: stopped
    assert bot_status(STOPPED, faulted, NOW, 5).liveness is Liveness.STOPPED
    assert bot_status(NO_SUPERVISOR, faulted, NOW, 5, pid_alive=False).liveness is (
        Liveness.STOPPED)
