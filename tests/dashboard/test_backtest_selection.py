"""Which backtest runs the Backtest page selects first (issue 23: compare off / on)."""

from __future__ import annotations

import pytest

from dashboard.backtest_selection import default_selection, latest_batch

pytestmark = pytest.mark.unit


def run(run_id: int, name: str, created: str) -> dict:
    return {"id": run_id, "name": name, "created_at": f"2026-12-07T19:{created}+00:00"}


MEMORY_PAIR = [run(12, "mem · memory on", "40:01"), run(11, "mem · memory off", "40:00"),
               run(10, "mem · memory on", "10:00"), run(9, "plain", "05:00")]


def test_a_compare_batch_is_selected_whole_and_an_older_one_is_not():
    assert latest_batch(MEMORY_PAIR) == [12, 11]


def test_the_four_llm_modes_and_an_unnamed_pair_are_batches():
    modes = [run(20 - i, f"x · llm {m}", "30:00") for i, m in
             enumerate(("consensus", "bias", "advisory", "disabled"))]
    assert latest_batch(modes) == [20, 19, 18, 17]
    unnamed = [run(2, "· memory on", "00:01"), run(1, "· memory off", "00:00")]
    assert latest_batch(unnamed) == [2, 1]


def test_a_single_run_is_selected_alone():
    assert latest_batch([run(9, "plain", "05:00"), run(8, "plain", "05:00")]) == [9]
    assert latest_batch([]) == []


def test_the_sessions_own_finished_runs_come_first():
    assert default_selection(MEMORY_PAIR, [10, 99]) == [10]
    assert default_selection(MEMORY_PAIR, [99]) == [12, 11]
