"""``--layer rules``: the approved rules of a journal are the layer; the placebo matches their
refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.backtest.data import synthetic_data
from bot.evaluation.cli import approved_rules
from bot.evaluation.runs import EvalTask, Placebo, run_eval_task
from shared.config.backtest_request import BacktestRequest
from shared.domain.errors import ConfigError
from shared.domain.rules import RuleStatus
from shared.persistence import rules_store
from shared.persistence.db import open_database, write_transaction

pytestmark = pytest.mark.unit


def journal_with_rule(path, status: RuleStatus) -> None:
    conn = open_database(path)
    now = datetime.now(UTC)
    new = rules_store.NewRule(
        review_day="2021-01-04", kind="lock_bucket",
        params_json=json.dumps({"bucket": {"side": "long", "trend": "range",
                                           "volatility": "normal", "time_bucket": None}}),
        fingerprint="longs-range-normal", summary="Lock long in range/normal",
        evidence={}, backtest={}, improved=True, expires_at=now + timedelta(days=3650))
    with write_transaction(conn):
        rule_id = rules_store.insert_rule(conn, new, "review", now)
        if status is not RuleStatus.PROPOSED:
            rules_store.decide_rule(conn, rule_id, status, "test", "", now)
    conn.close()


def test_approved_rules_are_the_layer_and_the_placebo_refuses_as_many(tmp_path):
    journal = tmp_path / "rules.db"
    journal_with_rule(journal, RuleStatus.APPROVED)
    rules = approved_rules(str(journal))
    assert len(rules) == 1
    data = synthetic_data(8000, 7, 60, None)
    data = data.slice(0, len(data), first=300)
    request = BacktestRequest.model_validate({"data": "synthetic", "bars": 8000}).to_json()
    off = run_eval_task(EvalTask("off", request, False, "rules", rules=rules), data)
    on = run_eval_task(EvalTask("on", request, True, "rules", rules=rules), data)
    assert on.refused > 0 and off.refused == 0
    locked = [t for t in on.trades if t.side.value == "long"
              and t.labels.get("trend") == "range" and t.labels.get("volatility") == "normal"]
    assert not locked  # the rule refused every such entry
    assert any(t.side.value == "long" and t.labels.get("trend") == "range"
               and t.labels.get("volatility") == "normal" for t in off.trades)
    pool = int(on.metrics["trades"]) + on.refused
    placebo = run_eval_task(EvalTask("p", request, False, "rules", Placebo(5, on.refused, pool),
                                     rules=rules), data)
    assert placebo.placebo_refused == on.refused


def test_a_journal_without_approved_rules_is_refused(tmp_path):
    journal = tmp_path / "rules.db"
    journal_with_rule(journal, RuleStatus.PROPOSED)
    with pytest.raises(ConfigError, match="no approved rules to judge"):
        approved_rules(str(journal))
    with pytest.raises(ConfigError, match="no such file"):
        approved_rules(str(tmp_path / "missing.db"))
