"""Memory in the engine: recorded at entry, learned at close, consulted only when enabled,
never looking ahead, refusing with the ``memory`` rule, and MIN_SIMILAR_TRADES honoured."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import MEMORY_RULE, TradingEngine
from bot.core.sessions import CmeSessionClock
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.models import Verdict
from tests.bot.backtest.conftest import minute_bars

ACTIVE = {"risk": {"max_hold_minutes": 15, "max_trades_per_day": 40,
                   "cooldown_after_loss_minutes": 1},
          "feed": {"bar_seconds": 60}}
TRADING_MEMORY = {"enabled": True, "min_similar_trades": 4, "min_weighted_win_rate": 0.3,
                  "cold_start_setups": 10, "radius": 1.5, "bandwidth": 0.75}


def settings_with(memory: dict, env: dict | None = None) -> Settings:
    return settings_from_mapping({**ACTIVE, "memory": memory}, env=env or {})


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock()


@pytest.fixture(scope="module")
def bars():
    return minute_bars(4000, seed=3)


def run(settings: Settings, clock: CmeSessionClock, bars) -> TradingEngine:
    broker = PaperBroker(get_instrument("MES"), 62, 1)
    engine = TradingEngine(settings, broker, MemoryJournal(), clock)
    for bar in bars:
        engine.on_bar(bar)
    return engine


def consulted(engine: TradingEngine) -> list[tuple]:
    return [(d, json.loads(d.memory_json)) for d in engine.journal.decisions
            if d.memory_json != "{}"]


@pytest.fixture(scope="module")
def memory_run(clock, bars) -> TradingEngine:
    return run(settings_with(TRADING_MEMORY), clock, bars)


def test_memory_off_records_every_setup_but_is_never_consulted(clock, bars):
    engine = run(settings_with({"enabled": False}), clock, bars[:2500])
    journal = engine.journal
    assert consulted(engine) == []
    assert all(d.memory_adjustment == 0.0 for d in journal.decisions)
    entries = [d for d in journal.decisions if d.verdict is Verdict.ENTER]
    assert len(journal.trades) >= 10 and set(journal.memory) == {d.bracket_id for d in entries}
    for trade in journal.trades:
        stored = journal.memory[trade.bracket_id]
        assert stored.outcome.pnl_net_cents == trade.pnl_net_cents
        assert stored.outcome.close_ts == trade.exit_ts
        assert stored.outcome.r_multiple == pytest.approx(trade.pnl_net_cents / stored.risk_cents)
        assert stored.setup.side is trade.side
        assert stored.setup.bucket_labels == {k: trade.labels[k] for k in
                                              ("time_bucket", "volatility", "trend")}
    assert len(engine.memory.index) == len(journal.trades)


def test_memory_on_refuses_some_entries_and_scales_others(memory_run):
    verdicts = consulted(memory_run)
    allowed = [v for _, v in verdicts if v["allowed"] and not v["cold_start"]]
    refused = [d for d in memory_run.journal.decisions if d.risk_rule == MEMORY_RULE]
    assert len(allowed) >= 3 and len(refused) >= 3
    assert any(v["adjustment"] != 0 for v in allowed)
    for decision, verdict in verdicts:
        assert decision.memory_adjustment == pytest.approx(verdict["adjustment"], abs=1e-6)
        assert abs(decision.memory_adjustment) <= 0.10 + 1e-12
        assert verdict["reason"] in decision.reasons
    assert memory_run.memory.refused == len(refused)
    assert all(not v["allowed"] for d, v in verdicts if d.risk_rule == MEMORY_RULE)


def test_no_decision_sees_a_trade_or_shadow_that_closed_after_it(memory_run):
    """A trade counts once it closed (exit at a bar's start, known at that bar's close); a
    refused entry's shadow once the bar it exited on has closed (the event's time)."""
    trades = memory_run.journal.trades
    shadow_closes = [e[0] for e in memory_run.journal.events if e[1] == "memory_shadow_exit"]
    verdicts = consulted(memory_run)
    assert sum(v["stored_setups"] > 0 for _, v in verdicts) >= 10
    assert memory_run.memory.index.shadow_count == len(shadow_closes) > 0
    for decision, verdict in verdicts:
        closed_before = (sum(t.exit_ts < decision.ts for t in trades)
                         + sum(ts <= decision.ts for ts in shadow_closes))
        assert verdict["stored_setups"] == closed_before
        for neighbour in verdict["neighbours"]:
            assert neighbour["close_ts"] <= decision.ts.isoformat()


def test_two_runs_whose_futures_differ_agree_on_every_decision_before_the_fork(
        clock, bars, memory_run):
    fork = 2500
    shifted = [replace(b, open=b.open + 40, high=b.high + 40, low=b.low + 40,
                       close=b.close + 40) for b in bars[fork:fork + 600]]
    other = run(settings_with(TRADING_MEMORY), clock, bars[:fork] + shifted)
    cut = bars[fork].ts
    before = [d for d in memory_run.journal.decisions if d.ts <= cut]
    assert before == [d for d in other.journal.decisions if d.ts <= cut]
    assert sum(d.memory_json != "{}" for d in before) >= 10
    after = [(a.memory_json, b.memory_json) for a, b in zip(
        memory_run.journal.decisions, other.journal.decisions, strict=False) if a.ts > cut]
    assert len(after) == len(other.journal.decisions) - len(before)
    assert any(a != b for a, b in after)  # the futures really differ


def test_a_refusal_is_a_memory_reject_followed_as_a_shadow(clock, bars):
    engine = run(settings_with({"enabled": True, "cold_start": "refuse",
                                "cold_start_setups": 1_000_000}), clock, bars[:2500])
    decisions = engine.journal.decisions
    assert not [d for d in decisions if d.verdict is Verdict.ENTER]
    refused = [d for d in decisions if d.risk_rule == MEMORY_RULE]
    assert refused and all(d.verdict is Verdict.REJECT and d.action_taken == "none"
                           for d in refused)
    assert all(any(r.startswith("memory cold start: ") and r.endswith("(< 1000000), entry "
                                                                       "refused")
                   for r in d.reasons) for d in refused)
    shadows = [e for e in engine.journal.events if e[1] == "memory_shadow_exit"]
    assert shadows and engine.memory.refused == len(refused)
    assert all(e[4]["decision_ts"] in {d.ts.isoformat() for d in refused} for e in shadows)
    # every closed shadow taught memory: its setup is stored, flagged, with its net outcome
    assert len(engine.memory.index) == engine.memory.index.shadow_count == len(shadows)
    assert all(row.shadow and row.bracket_id.startswith("shadow:MES-")
               for row in engine.memory.index.rows)


def test_a_memory_without_cold_start_keeps_learning_from_what_it_refuses(clock, bars):
    """cold_start_setups 0 used to take 3 trades and refuse everything after: the refusals
    taught it nothing. Now each refused entry's shadow joins memory once it closed."""
    engine = run(settings_with({"enabled": True, "cold_start_setups": 0, "radius": 1.5,
                                "bandwidth": 0.75}), clock, bars)
    verdicts = consulted(engine)
    refused = [v for _, v in verdicts if not v["allowed"]]
    assert refused and verdicts[0][1]["reason"] == ("memory: no similar setup, no evidence the "
                                                     "entry is worth taking")
    index = engine.memory.index
    assert index.shadow_count >= 10 and len(index) > index.shadow_count  # it trades again
    late = [v for d, v in verdicts if d.ts > verdicts[len(verdicts) // 2][0].ts]
    assert any(v["allowed"] for v in late)  # still trading in the second half
    assert max(v["stored_setups"] for v in late) > max(v["stored_setups"] for v in refused[:3])


def test_min_similar_trades_from_the_environment_holds_entries_whatever_memory_size(clock,
                                                                                    bars):
    """MIN_SIMILAR_TRADES=N: hold unless N similar setups, even during the cold start."""
    settings = settings_with({"enabled": True, "radius": 2.0, "cold_start_setups": 100},
                             {"MIN_SIMILAR_TRADES": "6"})
    assert settings.memory.min_similar_trades == 6
    verdicts = [v for _, v in consulted(run(settings, clock, bars[:3000]))]
    young = [v for v in verdicts if v["stored_setups"] < 6]
    assert young and not any(v["allowed"] for v in young)
    assert all(v["cold_start"] for v in verdicts if v["stored_setups"] < 100)
    assert all(v["effective_count"] >= 6 - 1e-6 for v in verdicts if v["allowed"])
    assert all("< 6 needed" in v["reason"] for v in verdicts if "needed" in v["reason"])
    cold_allowed = [v for v in verdicts if v["cold_start"] and v["allowed"]]
    assert cold_allowed
    assert all(v["reason"] == f"memory cold start: {v['stored_setups']} setups, entry allowed"
               for v in cold_allowed)
