"""The evaluation evidence views: table rows per form, the headline, the comparison note."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard import evaluation_views
from shared.persistence import evaluation_store
from shared.persistence.db import write_transaction
from shared.persistence.evaluation_store import EvaluationRun

pytestmark = pytest.mark.unit
AT = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def run(result: dict) -> EvaluationRun:
    return EvaluationRun(3, AT, "memory", "es.csv", None, 20, "whole verdict", "walk verdict",
                         result)


def test_a_run_gives_one_row_per_form_it_has():
    evidence = {"on": {"trades": 5, "net_usd": 10.0}, "off": {"trades": 8, "net_usd": -4.0},
                "placebo": {"runs": 20, "mean_net_usd": 1.5}, "percentile": 60.0,
                "verdict": "no evidence of value: ...", "bootstrap": {}}
    frame = evaluation_views.evidence_frame([run({"whole_run": evidence})])
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row["form"], row["trades off/on"], row["$/trade on-off [95% CI]"]) == (
        "whole run", "8/5", "n/a")


def test_headline_and_comparison_note():
    assert evaluation_views.headline([]) is None
    assert "no evidence" in evaluation_views.comparison_note("memory", [])
    assert "--layer memory" in evaluation_views.comparison_note("memory", [])
    line = evaluation_views.headline([run({})])
    assert line.startswith("Walk-forward: walk verdict. Whole run: whole verdict.")
    assert evaluation_views.comparison_note("memory", [run({})]).endswith(line)


def test_runs_are_read_newest_first_per_layer(conn):
    with write_transaction(conn):
        for layer in ("memory", "rules", "memory"):
            evaluation_store.insert_evaluation_run(conn, AT, layer, "synthetic", None,
                                                   {"seeds": 3, "verdict": layer})
    found = evaluation_views.layer_runs(conn, "memory")
    assert [r.id for r in found] == [3, 1] and all(r.layer == "memory" for r in found)
    assert found[0].result == {"seeds": 3, "verdict": "memory"}
