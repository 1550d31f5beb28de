"""An exception in the engine while a position is open: the stop still fills, the bot stays up
(tests/faults/engine_fault.py drives a real live loop and checks the journal)."""

from __future__ import annotations

import pytest

from tests.faults.engine_fault import EXPECTED_REASON, engine_exception_in_position

pytestmark = pytest.mark.faults


def test_a_position_survives_an_engine_exception_with_its_stop_working(tmp_path):
    result = engine_exception_in_position(tmp_path)
    assert result.survived, result.problems
    assert result.exit_codes == (0,)  # the loop stayed up until asked to stop
    assert result.detail["heartbeat_status"] == "fault"
    assert result.detail["halt_reason"] == EXPECTED_REASON
    assert (result.rows_lost, result.duplicate_orders, result.naked_positions) == (0, 0, 0)
