"""Live = backtest with the per-signal LLM gate on: ``--llm replay`` of a gated live run.

A real ``python -m bot run`` (accelerated synthetic feed, real boto3 against the fake Bedrock
answering bullish and bearish in turn) asks the model about each candidate; replaying its
journal gives every bar the live decision, the gate's waits, refusals and entries included,
with every bar evaluated and with idle bars skipped.
"""

from __future__ import annotations

import json

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.llm_replay import journal_llm
from bot.backtest.runner import build_settings, load_data
from bot.core.llm_gate import GATE_RULE, GATE_WAIT_RULE
from shared.config.backtest_request import BacktestRequest
from shared.persistence import codec, journal_store
from tests.fakellm.server import GOOD_REPLY, FakeLlmServer, Step
from tests.integration.botproc import query, start_bot, write_config

pytestmark = pytest.mark.integration

DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
BEARISH = {**GOOD_REPLY, "bias": "BEARISH", "action": "SELL", "confidence": 0.7}
START = "2025-03-03T14:25:00Z"
BARS = 1500


def view(decision) -> tuple:
    return (decision.verdict.value, decision.risk_rule, decision.action_taken,
            decision.final_confidence, decision.labels["bias"])


def test_replaying_a_gated_live_run_gives_its_decisions_bar_for_bar(tmp_path):
    db, log = tmp_path / "live.db", tmp_path / "bot.log"
    with FakeLlmServer() as fake:
        fake.push(*[Step(payload=BEARISH if i % 2 else GOOD_REPLY) for i in range(60)])
        config = write_config(tmp_path, "c.yaml", {
            "feed": {"source": "synthetic", "seed": 7, "start": START, "speed": 1000,
                     "max_bars": BARS},
            "engine": {"heartbeat_seconds": 0.5},
            "risk": {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1,
                     "max_hold_minutes": 10},
            "events": {"triggers": []},
            "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
                    "timeout_s": 5, "read_timeout_s": 4, "reply_cache_minutes": 0,
                    "gate": "candidates", "gate_decisive_confidence": 1.0,
                    "gate_wait_bars": 12, "gate_fail_mode": "closed",
                    "gate_cooldown_minutes": 0, "gate_max_per_hour": 60},
        })
        process = start_bot(config, db, log, DUMMY_AWS)
        assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
    live = {codec.from_text(r["ts"]): r for r in query(db, journal_store.recent_decisions,
                                                        1_000_000)}
    rules = [r["risk_rule"] for r in live.values()]
    assert rules.count(GATE_WAIT_RULE) >= 3 and GATE_RULE in rules, "the gate was exercised"
    request = BacktestRequest(data="synthetic", bars=BARS, seed=7, bar_size="5s", start=START,
                              config=str(config), llm="replay", llm_journal=str(db))
    settings = build_settings(request)
    data = load_data(request, settings)
    settings = settings.model_copy(update={"feed": settings.feed.model_copy(
        update={"bar_seconds": data.bar_seconds})})
    assert settings.llm.gate == "candidates" and len(data) == len(live)
    for skip in (False, True):
        outcome = run_engine(settings, data, keep_decisions=True, skip_idle_bars=skip,
                             llm=journal_llm(db, data, settings))
        assert outcome.decisions
        for mine in outcome.decisions:
            row = live[mine.ts]
            assert view(mine) == (row["verdict"], row["risk_rule"], row["action_taken"],
                                  row["final_confidence"],
                                  json.loads(row["labels_json"])["bias"]), (skip, mine.ts)
