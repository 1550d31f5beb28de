"""run_many: keyed results whatever the workers; a task's error surfaces; cancel stops the run."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest

from bot.research.grid import load_grid_file, parse_grid_flags, task_hash
from bot.research.scaleout import Cancelled, LocalBackend, run_many
from shared.domain.errors import ConfigError


@dataclass(frozen=True)
class Job:
    key: str
    value: int
    pause_s: float = 0.0


def square_plus(job: Job, offset: int) -> int:
    if job.value == 99:
        os._exit(9)  # a worker that dies, as one killed for memory would
    if job.value < 0:
        raise ConfigError(f"job {job.key}: negative")
    time.sleep(job.pause_s)  # a slow task, to be cancelled while it runs
    return job.value * job.value + offset


@pytest.mark.integration  # starts local worker processes
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_are_keyed_and_equal_for_any_worker_count(workers):
    jobs = [Job(task_hash("t", {"v": str(v)}, 0), v) for v in range(9)]
    seen = []
    found = run_many(jobs, square_plus, 100, LocalBackend(workers),
                     progress=lambda done, total: seen.append((done, total)))
    assert found == {job.key: job.value ** 2 + 100 for job in jobs}
    assert [done for done, _ in seen] == list(range(1, 10)) and {t for _, t in seen} == {9}


@pytest.mark.integration  # starts local worker processes
def test_a_task_error_ends_the_run_with_its_message():
    jobs = [Job("a", 1), Job("b", -1), Job("c", 2)]
    with pytest.raises(ConfigError, match="job b: negative"):
        run_many(jobs, square_plus, 0, LocalBackend(2))


@pytest.mark.integration  # starts local worker processes
def test_a_worker_that_dies_ends_the_run_instead_of_hanging():
    jobs = [Job("a", 1, 1.0), Job("b", 99), Job("c", 2, 1.0)]
    with pytest.raises(RuntimeError, match="worker process died"):
        run_many(jobs, square_plus, 0, LocalBackend(2))


@pytest.mark.integration  # starts local worker processes
@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_request_cancels_pending_and_running_tasks(workers):
    jobs = [Job(str(n), n, 30.0 if n else 0.0) for n in range(4)]
    started = time.monotonic()
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1

    with pytest.raises(Cancelled, match="of 4 tasks"):
        run_many(jobs, square_plus, 0, LocalBackend(workers), should_stop=stop)
    assert time.monotonic() - started < 25  # the 30 s tasks were ended, not waited for


def test_grid_flags_and_files(tmp_path):
    assert parse_grid_flags(["stop_atr=1.5, 2", "fast=5"]) == {"stop_atr": ["1.5", "2"],
                                                               "fast": ["5"]}
    with pytest.raises(ConfigError, match="KEY=V1"):
        parse_grid_flags(["stop_atr"])
    grid = tmp_path / "grid.yaml"
    grid.write_text("stop_atr: [1.5, 3]\nrisk.max_hold_minutes: 30,60\nflag: true\n")
    assert load_grid_file(grid) == {"stop_atr": ["1.5", "3"],
                                    "risk.max_hold_minutes": ["30", "60"], "flag": ["true"]}
    grid.write_text("- not a mapping\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_grid_file(grid)
    assert task_hash("a", {"x": "1", "y": "2"}, 1) == task_hash("a", {"y": "2", "x": "1"}, 1)
    assert task_hash("a", {"x": "1"}, 1) != task_hash("a", {"x": "1"}, 2)
