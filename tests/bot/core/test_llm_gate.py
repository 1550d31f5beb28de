"""The per-signal LLM gate as a pure state machine: asks, waits, answers, fail modes, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.backtest.llm_gate_off import without_llm_gate
from bot.core.llm_bias import llm_influence
from bot.core.llm_gate import (
    GATE_FAIL_RULE,
    GATE_RULE,
    GATE_WAIT_RULE,
    GateAnswer,
    GateStep,
    LlmGate,
)
from shared.config.settings import LlmConfig, settings_from_mapping
from shared.domain.models import Action, Bias, Side

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
BAR = timedelta(minutes=1)


def cfg(**kw) -> LlmConfig:
    return LlmConfig.model_validate({"gate": "candidates", "gate_wait_bars": 2,
                                     "gate_decisive_confidence": 0.85, **kw})


def bar(n: int) -> datetime:
    return T0 + n * BAR


def test_off_never_asks_nor_holds_an_entry():
    gate = LlmGate(BAR)
    verdict = gate.check(Side.LONG, 0.5, T0, LlmConfig())
    assert verdict.step is GateStep.ENTER and verdict.note == ""
    assert gate.take_asks() == []


def test_a_held_candidate_is_decided_when_its_answer_comes_even_if_the_signal_went_away():
    gate, c = LlmGate(BAR), cfg(gate_wait_bars=3)
    gate.check(Side.SHORT, 0.6, bar(0), c, request="the request")
    assert gate.held(bar(1), c) is None  # waiting, nothing to do on this bar
    gate.give(GateAnswer(Side.SHORT, bar(0), Bias.BEARISH, 0.7, call_id=2))
    verdict, request = gate.held(bar(2), c)
    assert verdict.step is GateStep.ENTER and request == "the request"
    assert gate.held(bar(3), c) is None  # decided once


def test_an_opposite_candidate_replaces_the_held_one():
    gate, c = LlmGate(BAR), cfg()
    gate.check(Side.LONG, 0.6, bar(0), c)
    assert gate.check(Side.SHORT, 0.6, bar(1), c).step is GateStep.WAIT
    gate.give(GateAnswer(Side.LONG, bar(0), Bias.BULLISH, 0.9))  # the lapsed candidate's
    assert gate.held(bar(2), c) is None  # the short still waits for its own answer
    assert [a.side for a in gate.take_asks()] == [Side.LONG, Side.SHORT]


def test_a_candidate_is_asked_once_while_it_waits_then_its_answer_lets_it_go():
    gate, c = LlmGate(BAR), cfg()
    first = gate.check(Side.LONG, 0.6, bar(0), c)
    assert (first.step, first.rule) == (GateStep.WAIT, GATE_WAIT_RULE)
    asks = gate.take_asks()
    assert [(a.side, a.ts, a.confidence) for a in asks] == [(Side.LONG, bar(0), 0.6)]
    assert gate.check(Side.LONG, 0.6, bar(1), c).step is GateStep.WAIT
    assert gate.take_asks() == []  # the same candidate is not asked again
    gate.give(GateAnswer(Side.LONG, bar(0), Bias.BULLISH, 0.8, call_id=7))
    verdict = gate.check(Side.LONG, 0.6, bar(2), c)
    assert verdict.step is GateStep.ENTER and "call 7" in verdict.note
    assert gate.take_asks() == []


def test_a_confident_disagreement_refuses_and_a_weak_one_does_not():
    for confidence, step in ((0.7, GateStep.REFUSE), (0.5, GateStep.ENTER)):
        gate = LlmGate(BAR)
        gate.check(Side.SHORT, 0.6, bar(0), cfg(gate_refuse_confidence=0.6))
        gate.give(GateAnswer(Side.SHORT, bar(0), Bias.BULLISH, confidence, call_id=3))
        verdict = gate.check(Side.SHORT, 0.6, bar(1), cfg(gate_refuse_confidence=0.6))
        assert verdict.step is step, confidence
        if step is GateStep.REFUSE:
            assert verdict.rule == GATE_RULE and ">= 0.60" in verdict.note


def test_a_decisive_signal_is_not_asked():
    gate = LlmGate(BAR)
    verdict = gate.check(Side.LONG, 0.9, T0, cfg(gate_decisive_confidence=0.85))
    assert verdict.step is GateStep.ENTER and "decisive" in verdict.note
    assert gate.take_asks() == []


def test_wait_then_fail_open_trades_on_technicals():
    gate, c = LlmGate(BAR), cfg(gate_wait_bars=2, gate_fail_mode="open")
    steps = [gate.check(Side.LONG, 0.6, bar(i), c).step for i in range(3)]
    assert steps == [GateStep.WAIT, GateStep.WAIT, GateStep.ENTER]


def test_wait_then_fail_closed_skips_and_keeps_skipping_in_the_cooldown():
    gate, c = LlmGate(BAR), cfg(gate_wait_bars=1, gate_fail_mode="closed")
    assert gate.check(Side.LONG, 0.6, bar(0), c).step is GateStep.WAIT
    verdict = gate.check(Side.LONG, 0.6, bar(1), c)
    assert (verdict.step, verdict.rule) == (GateStep.REFUSE, GATE_FAIL_RULE)
    assert gate.check(Side.LONG, 0.6, bar(2), c).step is GateStep.REFUSE
    assert len(gate.take_asks()) == 1


def test_a_failed_call_follows_the_fail_mode_without_waiting_out_the_bars():
    gate, c = LlmGate(BAR), cfg(gate_wait_bars=5, gate_fail_mode="closed")
    gate.check(Side.LONG, 0.6, bar(0), c)
    gate.give(GateAnswer(Side.LONG, bar(0), None, error="daily call quota reached"))
    verdict = gate.check(Side.LONG, 0.6, bar(1), c)
    assert verdict.step is GateStep.REFUSE and "quota" in verdict.note


def test_per_side_cooldown_reuses_the_answer_and_the_other_side_is_asked():
    gate, c = LlmGate(BAR), cfg(gate_cooldown_minutes=15)
    gate.check(Side.LONG, 0.6, bar(0), c)
    gate.give(GateAnswer(Side.LONG, bar(0), Bias.BEARISH, 0.9, call_id=1))
    assert gate.check(Side.LONG, 0.6, bar(1), c).step is GateStep.REFUSE
    # the signal goes away and comes back inside the cooldown: not asked, the answer stands
    again = gate.check(Side.LONG, 0.6, bar(5), c)
    assert again.step is GateStep.REFUSE and "reused" in again.note
    assert gate.check(Side.SHORT, 0.6, bar(6), c).step is GateStep.WAIT  # its own cooldown
    assert [a.side for a in gate.take_asks()] == [Side.LONG, Side.SHORT]
    gate.check(Side.LONG, 0.6, bar(15), c)  # the cooldown is over: asked anew
    assert [a.ts for a in gate.take_asks()] == [bar(15)]


def test_hourly_cap_stops_asking_and_follows_the_fail_mode():
    gate, c = LlmGate(BAR), cfg(gate_max_per_hour=2, gate_cooldown_minutes=0,
                                gate_fail_mode="closed")
    for minute in (0, 10):
        assert gate.check(Side.LONG, 0.6, bar(minute), c).step is GateStep.WAIT
        assert gate.held(bar(minute + 5), c)[0].rule == GATE_FAIL_RULE  # no answer: over
    capped = gate.check(Side.LONG, 0.6, bar(20), c)
    assert capped.step is GateStep.REFUSE and "hourly cap" in capped.note
    assert len(gate.take_asks()) == 2
    gate.check(Side.LONG, 0.6, bar(61), c)  # the first ask left the hour
    assert [a.ts for a in gate.take_asks()] == [bar(61)]


def test_consensus_fail_mode_closed_refuses_without_a_bias_and_open_keeps_parity():
    closed = LlmConfig.model_validate({"mode": "consensus", "consensus_fail_mode": "closed"})
    assert llm_influence(None, Action.BUY, T0, closed).veto
    assert not llm_influence(None, Action.HOLD, T0, closed).veto
    assert not llm_influence(None, Action.BUY, T0, LlmConfig(mode="consensus")).veto


def test_an_unanswered_asker_keeps_a_bounded_outbox_and_backtests_switch_the_gate_off():
    gate, c = LlmGate(BAR), cfg(gate_cooldown_minutes=0, gate_max_per_hour=120,
                                gate_wait_bars=0)
    for minute in range(100):
        gate.check(Side.LONG, 0.6, bar(minute), c)
    assert len(gate.take_asks()) == 32
    gated = settings_from_mapping({"llm": {"gate": "candidates"}}, env={})
    assert without_llm_gate(gated).llm.gate == "off"
