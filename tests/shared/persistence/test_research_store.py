"""research_runs: queue, progress, cancel flag, results, delete; requests validated both sides."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.config.research_request import ResearchKind, ResearchRequest, ResearchStatus
from shared.domain.errors import ConfigError
from shared.persistence import research_store
from shared.persistence.db import write_transaction
from tests.support import open_migrated_journal

NOW = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


def test_a_run_goes_from_queued_to_done_with_progress_and_results(tmp_path):
    conn = open_migrated_journal(tmp_path / "t.db")
    request = ResearchRequest(kind=ResearchKind.SWEEP, grid={"risk.max_hold_minutes": ["30"]})
    with write_transaction(conn):
        run_id = research_store.insert_research_run(conn, "sweep", request.to_json(), NOW, "a")
    assert research_store.research_runs(conn)[0].active
    with write_transaction(conn):
        research_store.mark_research_running(conn, run_id, 123, NOW)
        research_store.update_research_progress(conn, run_id, 3, 4, "3 of 4 tasks", NOW)
    summary = research_store.research_run(conn, run_id).summary
    assert (summary.status, summary.progress, summary.tasks_done, summary.pid) == (
        "running", 0.75, 3, 123)
    assert not research_store.research_cancel_requested(conn, run_id)
    with write_transaction(conn):
        research_store.finish_research_run(conn, run_id, {"kind": "sweep", "points": []}, "ok",
                                           NOW)
    found = research_store.research_run(conn, run_id)
    assert found.result == {"kind": "sweep", "points": []} and found.summary.status == "done"
    assert ResearchRequest.from_json(found.request_json) == request
    with write_transaction(conn):
        assert not research_store.request_research_cancel(conn, run_id)  # finished: no flag
        assert research_store.delete_research_run(conn, run_id)
    assert research_store.research_run(conn, run_id) is None
    assert research_store.research_cancel_requested(conn, run_id)  # a deleted run stops


def test_the_cancel_flag_and_the_end_states(tmp_path):
    conn = open_migrated_journal(tmp_path / "t.db")
    with write_transaction(conn):
        run_id = research_store.insert_research_run(conn, "sweep", "{}", NOW)
        assert research_store.request_research_cancel(conn, run_id)
    assert research_store.research_cancel_requested(conn, run_id)
    with write_transaction(conn):
        research_store.end_research_run(conn, run_id, ResearchStatus.CANCELLED, "stopped", NOW)
    summary = research_store.research_runs(conn)[0]
    assert (summary.status, summary.message, summary.active) == ("cancelled", "stopped", False)


def test_requests_name_what_is_wrong():
    with pytest.raises(ValidationError, match="--grid risk.nope"):
        ResearchRequest(kind=ResearchKind.SWEEP, grid={"risk.nope": ["1"]})
    with pytest.raises(ValidationError, match="at least one KEY"):
        ResearchRequest(kind=ResearchKind.SWEEP)
    with pytest.raises(ValidationError, match="train-bars"):
        ResearchRequest(kind=ResearchKind.WALK_FORWARD, grid={"risk.max_hold_minutes": ["30"]})
    with pytest.raises(ValidationError, match="scheduler address"):
        ResearchRequest(kind=ResearchKind.MONTE_CARLO, cluster="my-laptop")
    with pytest.raises(ValidationError, match="repeated"):
        ResearchRequest(kind=ResearchKind.SWEEP, grid={"risk.max_hold_minutes": ["30", "30"]})
    assert ResearchRequest(kind=ResearchKind.MONTE_CARLO, cluster=" ").cluster is None
    with pytest.raises(ConfigError, match="kind"):
        ResearchRequest.from_json('{"kind": "guess"}')
