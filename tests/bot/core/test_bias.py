"""Bias modes: bounded nudges, consensus veto, advisory, expiry; reply validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.llm_bias import LlmBiasState, llm_influence
from bot.core.llm_reply import extract_json, parse_reply
from shared.config.settings import LlmConfig
from shared.domain.models import Action, Bias

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def state(bias: Bias, confidence: float) -> LlmBiasState:
    return LlmBiasState(bias, confidence, Action.HOLD, T0, T0 + timedelta(minutes=60), 1)


def cfg(**kw) -> LlmConfig:
    return LlmConfig.model_validate(kw)


@pytest.mark.parametrize(("c", "expected"), [(0.2, 0.03), (0.5, 0.075), (0.9, 0.10), (1.0, 0.10)])
def test_agreement_adds_min_of_bound_and_c_times_015(c, expected):
    assert llm_influence(state(Bias.BULLISH, c), Action.BUY, T0, cfg()).adjustment == (
        pytest.approx(expected))


@pytest.mark.parametrize(("c", "expected"), [(0.2, -0.04), (0.5, -0.10), (0.9, -0.15)])
def test_disagreement_subtracts_min_of_bound_and_c_times_020(c, expected):
    assert llm_influence(state(Bias.BULLISH, c), Action.SELL, T0, cfg()).adjustment == (
        pytest.approx(expected))


def test_bounds_are_configurable():
    influence = llm_influence(state(Bias.BEARISH, 1.0), Action.SELL, T0, cfg(max_boost=0.02))
    assert influence.adjustment == pytest.approx(0.02)


def test_neutral_bias_and_hold_signal_do_nothing():
    assert llm_influence(state(Bias.NEUTRAL, 1.0), Action.BUY, T0, cfg()).adjustment == 0
    assert llm_influence(state(Bias.BULLISH, 1.0), Action.HOLD, T0, cfg()).adjustment == 0


def test_bias_expires():
    late = T0 + timedelta(minutes=60)
    influence = llm_influence(state(Bias.BULLISH, 1.0), Action.BUY, late, cfg())
    assert influence.adjustment == 0 and influence.bias is Bias.NEUTRAL


def test_consensus_vetoes_unless_the_llm_agrees_confidently():
    mode = cfg(mode="consensus", consensus_min_confidence=0.6)
    assert not llm_influence(state(Bias.BULLISH, 0.7), Action.BUY, T0, mode).veto
    assert llm_influence(state(Bias.BULLISH, 0.5), Action.BUY, T0, mode).veto
    assert llm_influence(state(Bias.BEARISH, 0.9), Action.BUY, T0, mode).veto
    assert llm_influence(state(Bias.NEUTRAL, 0.9), Action.BUY, T0, mode).veto
    assert not llm_influence(None, Action.BUY, T0, mode).veto, "no LLM: technicals alone"


def test_advisory_and_disabled_never_adjust():
    for mode in ("advisory", "disabled"):
        influence = llm_influence(state(Bias.BULLISH, 1.0), Action.BUY, T0, cfg(mode=mode))
        assert influence.adjustment == 0 and not influence.veto


def test_reply_is_clamped_and_case_insensitive():
    reply, _ = parse_reply({"bias": " bullish ", "confidence": "72", "action": "buy"})
    assert reply.confidence == pytest.approx(0.72) and reply.bias.value == "BULLISH"
    assert parse_reply({"bias": "BULLISH", "confidence": -3, "action": "HOLD"})[0].confidence == 0


@pytest.mark.parametrize(("sent", "read"), [(0.8, 0.8), (1, 1.0), (7.5, 0.075), ("72", 0.72),
                                            (100, 1.0), (150, 1.0), (-0.5, 0.0)])
def test_confidence_above_one_is_a_percentage_and_the_rest_is_clamped(sent, read):
    reply, _ = parse_reply({"bias": "BULLISH", "confidence": sent, "action": "HOLD"})
    assert reply.confidence == pytest.approx(read)


@pytest.mark.parametrize("bad", [
    {"bias": "BULLISH", "confidence": float("nan")}, {"bias": "BULLISH", "confidence": True},
    {"bias": "MOON", "confidence": 0.5}, {"confidence": 0.5}, [1, 2], "text", None,
])
def test_malformed_replies_are_rejected_with_a_reason(bad):
    reply, problem = parse_reply(bad)
    assert reply is None and problem


def test_json_is_extracted_from_fenced_text():
    assert extract_json('sure!\n```json\n{"bias": "NEUTRAL"}\n```') == {"bias": "NEUTRAL"}
    assert extract_json("nothing here") is None
