"""A roles run (llm.roles) recorded once against the fake Bedrock replays to identical trades
at $0: the replay-cache run sends no request, adds no call-log row and answers every role
from the cache."""

from __future__ import annotations

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.llm_setup import make_backtest_llm
from shared.config.backtest_request import BacktestRequest
from shared.persistence import llm_backtest_store, llm_store
from tests.fakellm.evidence import evidence_responder
from tests.fakellm.server import FakeLlmServer
from tests.integration.botproc import query, write_config
from tests.integration.test_backtest_llm import (
    ACTIVE_RISK,
    DUMMY_AWS,
    llm_section,
    llm_view,
    prepared,
)

pytestmark = pytest.mark.integration


def test_a_recorded_roles_run_replays_to_identical_trades_at_no_cost(tmp_path, monkeypatch):
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "cache.db"
    with FakeLlmServer(responder=evidence_responder) as fake:
        config = write_config(tmp_path, "c.yaml", {
            "risk": ACTIVE_RISK,
            "llm": llm_section(fake.url, max_attempts=2, roles={"enabled": True}),
            "events": {"triggers": ["market_open", "market_close", "volatility_spike"]}})
        base = dict(data="synthetic", bars=4320, seed=7, bar_size="1min",
                    start="2025-03-03T00:00:00Z", config=str(config), llm_journal=str(db))
        runs = {}
        for source in ("record", "replay-cache"):
            request = BacktestRequest(**base, llm=source, llm_max_calls=300,
                                      llm_yes_spend=True)
            settings, data = prepared(request)
            hook = make_backtest_llm(request, settings, data)
            try:
                outcome = run_engine(settings, data, keep_decisions=True, llm=hook)
            finally:
                hook.close()
            logged = query(db, llm_backtest_store.call_count)
            runs[source] = (outcome, fake.count("/converse"), logged)
    (recorded, bought, rows), (replayed, after, rows_after) = runs["record"], runs["replay-cache"]
    counts, again = recorded.llm.counts, replayed.llm.counts
    assert counts["llm_roles_answered"] >= 3 and counts["llm_roles_fallbacks"] == 0
    assert bought == 5 * counts["llm_roles_answered"] == counts["llm_calls"]
    governed = query(db, llm_store.governed_attempts)
    assert governed == {"rows": bought, "daily_calls": bought}  # every HTTP attempt governed
    assert (after, rows_after) == (bought, rows)
    assert (again["llm_calls"], again["llm_cost_usd"]) == (0, 0.0) and counts["llm_cost_usd"] > 0
    assert again["llm_roles_cache_hits"] == bought and again["llm_roles_cache_misses"] == 0
    assert again["llm_roles_answered"] == counts["llm_roles_answered"]
    assert any(d.llm_adjustment for d in recorded.decisions)
    assert [(d.ts, *llm_view(d)) for d in replayed.decisions] == [
        (d.ts, *llm_view(d)) for d in recorded.decisions]
    assert replayed.trades == recorded.trades and recorded.trades
