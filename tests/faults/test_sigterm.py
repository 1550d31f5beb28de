"""SIGTERM is honoured within 5 s even when the live loop is behind schedule (rule 11)."""

from __future__ import annotations

import pytest

from tests.faults.scenarios import SIGTERM_LIMIT_S, sigterm_at_speed

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.mark.parametrize("speed", [1_000_000, 5000])
def test_sigterm_at_high_feed_speed_exits_0_within_5_s_three_times(tmp_path, speed):
    result = sigterm_at_speed(tmp_path, speed, rounds=3)
    assert result.survived, result.problems
    assert result.exit_codes == (0, 0, 0)
    assert max(result.detail["stop_seconds"]) <= SIGTERM_LIMIT_S
    assert (result.rows_lost, result.duplicate_orders, result.naked_positions) == (0, 0, 0)
