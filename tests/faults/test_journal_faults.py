"""A journal that cannot be written: exit 3 with one line, no traceback, position protected."""

from __future__ import annotations

import pytest

from tests.faults.scenarios import db_locked, disk_full

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_disk_full_exits_3_with_one_line_and_a_restart_on_the_full_disk_does_too(
    tmp_path, small_fs
):
    result = disk_full(tmp_path, small_fs)
    assert result.survived, result.problems
    assert result.exit_codes == (3, 3)
    assert "database or disk is full" in result.detail["stderr"][0]
    assert (result.rows_lost, result.duplicate_orders, result.naked_positions) == (0, 0, 0)


def test_a_lock_held_past_the_busy_timeout_exits_3_and_a_restart_trades_on(tmp_path):
    result = db_locked(tmp_path)
    assert result.survived, result.problems
    assert result.exit_codes == (3, 0)
    assert (result.rows_lost, result.duplicate_orders, result.naked_positions) == (0, 0, 0)
    assert result.restart_to_first_decision_s is not None
