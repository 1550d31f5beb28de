"""kill -9 in a position at seeded random moments: the restart resumes it, nothing is lost.

The IB variant (the bracket lives at the fake gateway) stays in
tests/integration/test_ib_bot.py::test_kill_9_while_the_bracket_works_restart_adopts_without_duplicates.
"""

from __future__ import annotations

import pytest

from tests.faults.scenarios import kill9_in_position

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_kill_9_in_a_position_three_times_then_restart_resumes_it_with_its_stop(tmp_path):
    result = kill9_in_position(tmp_path, kills=3, seed=11)
    assert result.survived, result.problems
    assert result.exit_codes == (-9, -9, -9, 0)
    assert result.detail["kills_in_position"] >= 1, "no kill landed in a position"
    assert (result.rows_lost, result.duplicate_orders, result.naked_positions) == (0, 0, 0)
    assert result.restart_to_first_decision_s is not None
