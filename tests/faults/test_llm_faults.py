"""The real bot and boto3 client against a faulty fake Bedrock: it trades on, every attempt counted.

Each scenario (tests/faults/llm_scenarios.py) checks the invariants itself and lists what broke;
here each fault's own outcome is pinned as well.
"""

from __future__ import annotations

import pytest

from tests.faults.llm_scenarios import (
    MAX_ATTEMPTS,
    endpoint_down,
    garbage_replies,
    hostile_replies,
    slow,
    throttling,
)

pytestmark = pytest.mark.integration


def test_endpoint_down_is_an_error_per_analysis_and_trading_goes_on(tmp_path):
    result = endpoint_down(tmp_path)
    assert result.problems == ()
    assert result.http_requests == 0 and result.governed_attempts == 2
    assert result.statuses == {"error": 2}


def test_throttling_is_retried_and_every_request_is_governed(tmp_path):
    result = throttling(tmp_path)
    assert result.problems == ()
    assert result.http_requests == result.governed_attempts == 2 * MAX_ATTEMPTS
    assert result.statuses == {"throttled": 2 * MAX_ATTEMPTS}


def test_a_slow_endpoint_times_out_and_every_attempt_is_governed(tmp_path):
    result = slow(tmp_path)
    assert result.problems == ()
    assert result.http_requests == result.governed_attempts >= 2
    assert set(result.statuses) == {"timeout"}


def test_garbage_replies_are_parse_errors(tmp_path):
    result = garbage_replies(tmp_path)
    assert result.problems == ()
    assert result.http_requests == result.governed_attempts == 2
    assert result.statuses == {"parse_error": 2}


def test_hostile_replies_move_confidence_within_bounds_and_nothing_else(tmp_path):
    result = hostile_replies(tmp_path)
    assert result.problems == ()
    assert result.http_requests == result.governed_attempts == 2
    assert result.statuses == {"ok": 1, "parse_error": 1}
