"""``--layer llm``: recorded replies replayed, and the placebo: the same replies at the same
times with their answers shuffled (as many nudges, pointed at random)."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from bot.backtest.data import SYNTHETIC_START, synthetic_data
from bot.evaluation.cli import llm_journal
from bot.evaluation.llm_layer import journal_rows, replay_hook
from bot.evaluation.runs import EvalTask, run_eval_task
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import Settings
from shared.domain.errors import ConfigError
from shared.persistence import llm_store
from shared.persistence.db import open_database, write_transaction
from tests.support import migrated_journal

pytestmark = pytest.mark.unit
LIMITS = llm_store.Limits(1000, 100.0, 0.8)
SETTINGS = Settings()


def record_replies(path, count: int) -> None:
    """``count`` replies, every 45 minutes from the synthetic market's start: 2 bullish for
    each bearish."""
    conn = open_database(path)
    for number in range(count):
        at = SYNTHETIC_START + timedelta(hours=2, minutes=45 * number)
        bias, action = ("BEARISH", "SELL") if number % 3 == 2 else ("BULLISH", "BUY")
        request = llm_store.CallRequest(at, at.date().isoformat(), "market_open", "{}", None,
                                        "bedrock", "m", "v1", f"h{number}", "sys", "user")
        with write_transaction(conn):
            call_id = llm_store.reserve_call(conn, request, 0.01, LIMITS).call_id
            llm_store.settle_call(conn, call_id, llm_store.Settlement(
                "ok", "{}", "", "tool_use", 100, 20, 0, 0, 0.002, 40.0, 0, bias, 0.9, action,
                at + timedelta(seconds=1)))
    conn.close()


@pytest.fixture(scope="module")
def data():
    bars = synthetic_data(6000, 7, 60, None)
    return bars.slice(0, len(bars), first=300)


def test_the_placebo_replays_the_same_replies_with_their_answers_shuffled(tmp_path, data):
    journal = tmp_path / "trader.db"
    record_replies(journal, 60)
    rows = journal_rows(journal, data, SETTINGS)
    assert len(rows) == 60
    real, placebo = (replay_hook(journal, data, SETTINGS, seed) for seed in (None, 4))
    assert real.replies == placebo.replies == 60
    biases = sorted(d.state.bias.value for d in real._due)
    assert sorted(d.state.bias.value for d in placebo._due) == biases  # the same answers ...
    order = [d.state.bias for d in sorted(real._due, key=lambda d: d.index)]
    shuffled = [d.state.bias for d in sorted(placebo._due, key=lambda d: d.index)]
    assert order != shuffled  # ... at other times
    assert [d.index for d in sorted(real._due, key=lambda d: d.index)] == [
        d.index for d in sorted(placebo._due, key=lambda d: d.index)]


def test_the_layer_nudges_and_its_placebo_nudges_as_often(tmp_path, data):
    journal = tmp_path / "trader.db"
    record_replies(journal, 60)
    request = BacktestRequest.model_validate({"data": "synthetic", "bars": 6000,
                                              "llm_mode": "bias"}).to_json()
    on = run_eval_task(EvalTask("on", request, True, "llm", llm_journal=str(journal)), data)
    off = run_eval_task(EvalTask("off", request, False, "llm", llm_journal=str(journal)), data)
    placebo = run_eval_task(EvalTask("p", request, True, "llm", llm_journal=str(journal),
                                     shuffle_seed=1), data)
    assert on.metrics["llm_nudged_decisions"] > 0 and off.metrics.get("llm_nudged_decisions") \
        is None
    assert placebo.metrics["llm_replies_applied"] == on.metrics["llm_replies_applied"]
    assert placebo.metrics["llm_nudged_decisions"] > 0


def test_a_journal_without_replies_makes_the_layer_unavailable(tmp_path, data):
    journal = tmp_path / "empty.db"
    migrated_journal(journal)
    args = argparse.Namespace(llm_journal=str(journal))
    with pytest.raises(ConfigError, match="--layer llm: unavailable: .* no recorded LLM"):
        llm_journal(args, data, SETTINGS)
