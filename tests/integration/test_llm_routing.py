"""Model routing on a seeded run: each call goes to the model its moment's route names.

A ``--llm record`` backtest of a seeded synthetic market against the fake Bedrock with three
routes (the open → Sonnet, high volatility → Sonnet, calm → Haiku): every logged call's model
and route are the ones the first matching route gives for the regime and trigger in its own
prompt, the fake saw each call at that model's URL, both models were used, and the cost per
route the LLM page shows equals the call log summed by hand.
"""

from __future__ import annotations

import json
from collections import defaultdict
from urllib.parse import unquote

import pytest

from dashboard.llm_reports import route_cost_frame
from shared.config.backtest_request import BacktestRequest
from shared.persistence import llm_store
from shared.persistence.db import connect
from tests.fakellm.server import FakeLlmServer
from tests.integration.botproc import write_config
from tests.integration.llm_backtests import run_llm_backtest

pytestmark = pytest.mark.integration

HAIKU = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
ROUTES = [
    {"name": "open", "model": SONNET, "triggers": ["market_open"]},
    {"name": "busy", "model": SONNET, "volatility": ["high"]},
    {"name": "calm", "model": HAIKU, "volatility": ["low", "normal"]},
]
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}


def expected_route(volatility: str, trigger: str) -> tuple[str, str]:
    """The first route matching, written out from ROUTES (not from the code under test)."""
    if trigger == "market_open":
        return "open", SONNET
    if volatility == "high":
        return "busy", SONNET
    if volatility in ("low", "normal"):
        return "calm", HAIKU
    return "default", HAIKU


def test_a_seeded_record_run_sends_each_moment_to_its_routed_model(tmp_path, monkeypatch):
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)
    with FakeLlmServer() as fake:
        config = write_config(tmp_path, "routes.yaml", {
            "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
                    "bedrock_model": HAIKU, "routes": ROUTES, "timeout_s": 5,
                    "read_timeout_s": 4, "max_attempts": 1, "reply_cache_minutes": 0},
            "events": {"triggers": ["market_open", "market_close", "volatility_spike"],
                       "cooldown_minutes": 20, "volatility_spike_atr_ratio": 1.2},
        })
        db = tmp_path / "routes.db"
        request = BacktestRequest(data="synthetic", bars=2880, seed=4, bar_size="1min",
                                  start="2025-03-03T00:00:00Z", config=str(config),
                                  llm_journal=str(db), llm="record", llm_max_calls=200,
                                  llm_yes_spend=True)
        run_llm_backtest(request)
        paths = [unquote(r["path"]) for r in fake.requests if r["method"] == "POST"]
    conn = connect(db)
    try:
        calls = sorted(llm_store.recent_calls(conn, 10_000), key=lambda c: c.call_id)
        page = route_cost_frame(conn)
    finally:
        conn.close()
    assert len(calls) >= 5 and len(paths) == len(calls)
    by_hand: dict[tuple[str, str], list[float]] = defaultdict(list)
    for call, path in zip(calls, paths, strict=True):
        snapshot = json.loads(call.prompt.split("Market snapshot (JSON):\n")[1].split("\n")[0])
        route, model = expected_route(snapshot["regime"]["volatility"], call.trigger)
        assert (call.route, call.model) == (route, model), call.call_id
        assert f"/model/{model}/" in path
        by_hand[(route, model)].append(call.cost_usd)
    assert {model for _, model in by_hand} == {HAIKU, SONNET}, "both models answered"
    shown = {(r.route, r.model): (r.calls, r.cost_usd) for r in page.itertuples()}
    assert shown == {key: (len(costs), pytest.approx(sum(costs))) for key, costs in
                     by_hand.items()}
