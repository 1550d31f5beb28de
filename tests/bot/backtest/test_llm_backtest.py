"""The LLM in a backtest: replies count from the first decision after they arrive, expire like
live, act through the engine's own method, and change nothing when they cannot."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.llm_run import BacktestLlm, due_index, engine_time_at, llm_metrics
from bot.backtest.runner import run_backtest
from bot.core.llm_reply import LlmReply
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import settings_from_mapping
from shared.domain.models import Action
from tests.bot.backtest.conftest import bar_data, minute_bars
from tests.support import migrated_journal

ACTIVE = {"max_hold_minutes": 15, "max_trades_per_day": 40, "cooldown_after_loss_minutes": 1}
BULLISH = LlmReply(bias="BULLISH", confidence=0.9, action="BUY")
BEARISH = LlmReply(bias="BEARISH", confidence=0.9, action="SELL")
TIMING_KEYS = {"seconds", "bars_per_second"}


@pytest.fixture(scope="module")
def data():
    return bar_data(minute_bars(4000, seed=3))


def settings_for(mode: str, ttl_minutes: float = 60.0):
    return settings_from_mapping({"risk": ACTIVE, "feed": {"bar_seconds": 60},
                                  "llm": {"mode": mode, "bias_ttl_minutes": ttl_minutes}},
                                 env={})


def close_of(data, index: int):
    return data.ts(index) + timedelta(seconds=data.bar_seconds)


def test_a_reply_counts_from_the_first_decision_after_it_arrived(data):
    assert due_index(data, close_of(data, 3)) == 4  # bar 3 decided at its close: too early
    assert due_index(data, close_of(data, 3) + timedelta(seconds=1)) == 4
    assert due_index(data, close_of(data, 3) - timedelta(seconds=1)) == 3
    assert engine_time_at(data, close_of(data, 3) + timedelta(seconds=59)) == close_of(data, 3)
    before = data.ts(0) - timedelta(minutes=5)
    assert (due_index(data, before), engine_time_at(data, before)) == (0, before)
    assert due_index(data, close_of(data, len(data) - 1)) == len(data)


def test_the_bias_is_in_force_from_arrival_to_expiry_and_nowhere_else(data):
    settings = settings_for("bias", ttl_minutes=90)
    arrival = close_of(data, 1200) + timedelta(seconds=20)
    hook = BacktestLlm(data, settings, "replay")
    hook.add_reply(BULLISH, arrival, call_id=1)
    outcome = run_engine(settings, data, skip_idle_bars=False, keep_decisions=True, llm=hook)
    expires = close_of(data, 1200) + timedelta(minutes=90)  # issued at the engine's time
    for decision in outcome.decisions:
        live = arrival < decision.ts < expires
        assert decision.labels["bias"] == ("bullish" if live else "neutral"), decision.ts
        if not live:
            assert decision.llm_adjustment == 0
    moved = [d for d in outcome.decisions if d.llm_adjustment]
    assert moved and all((d.llm_adjustment > 0) == (d.signal_action is Action.BUY)
                         for d in moved)
    assert outcome.llm is not None and outcome.llm.applied == 1


def test_disabled_mode_trades_exactly_as_without_the_llm(data):
    replies = [(BULLISH if i % 2 else BEARISH, close_of(data, 200 + 400 * i)) for i in range(9)]

    def run(mode: str | None):
        settings = settings_for(mode or "bias")
        hook = None
        if mode is not None:
            hook = BacktestLlm(data, settings, "replay")
            for reply, arrival in replies:
                hook.add_reply(reply, arrival, call_id=1)
        return run_engine(settings, data, llm=hook)

    off, disabled, biased = run(None), run("disabled"), run("bias")
    assert disabled.trades == off.trades and len(off.trades) >= 5
    assert disabled.llm.nudged_decisions == 0 and biased.llm.nudged_decisions > 0


def test_consensus_vetoes_are_followed_as_shadows_whether_bars_are_skipped_or_not(data):
    settings = settings_for("consensus", ttl_minutes=24 * 60)
    runs = []
    for skip in (True, False):
        hook = BacktestLlm(data, settings, "replay")
        for day in range(3):
            hook.add_reply(BEARISH, data.ts(0) + timedelta(days=day, minutes=1), call_id=day)
        runs.append(run_engine(settings, data, skip_idle_bars=skip, llm=hook))
    skipped, every = runs
    assert skipped.trades == every.trades
    assert skipped.llm.shadow_pnls_cents == every.llm.shadow_pnls_cents
    assert skipped.llm.vetoed_decisions > 0 and len(skipped.llm.shadow_pnls_cents) > 0
    metrics = llm_metrics(skipped.llm, list(skipped.trades))
    shadows = skipped.llm.shadow_pnls_cents
    assert metrics["llm_vetoed_shadows"] == len(shadows)
    assert metrics["llm_missed_gain_usd"] - metrics["llm_avoided_loss_usd"] == pytest.approx(
        sum(shadows) / 100)
    assert metrics["llm_agreed_trades"] + metrics["llm_disagreed_trades"] <= len(skipped.trades)


def test_a_replay_of_a_journal_without_replies_is_the_off_run(tmp_path):
    journal = tmp_path / "trader.db"
    migrated_journal(journal)
    base = {"bars": 3000, "seed": 3, "bar_size": "1min", "start": "2025-03-03T00:00:00Z",
            "params": {"risk.max_trades_per_day": "40"}}
    off = run_backtest(BacktestRequest(**base))
    replay = run_backtest(BacktestRequest(**base, llm="replay", llm_journal=str(journal)))
    assert replay.trades == off.trades and len(off.trades) > 0
    assert not any(key.startswith("llm_") for key in off.metrics)
    assert {k: v for k, v in replay.metrics.items()
            if not k.startswith("llm_") and k not in TIMING_KEYS} == {
        k: v for k, v in off.metrics.items() if k not in TIMING_KEYS}
    assert (replay.metrics["llm_replies"], replay.metrics["llm_calls"]) == (0, 0)
