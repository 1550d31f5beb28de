"""The calibration ledger's arithmetic, and what ``llm.skill_scaled`` does to the nudge."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.llm_bias import llm_influence, state_from_reply
from bot.core.llm_reply import parse_reply
from shared.config.settings import LlmConfig
from shared.domain.calibration import (
    AnsweredCall,
    ScoredCall,
    by_decile,
    calibration,
    score,
    score_calls,
    skill,
    skill_before,
    wilson,
)
from shared.domain.models import Action

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 3, 15, tzinfo=UTC)


def scored(hit: bool, outcome: str = "BULLISH", confidence: float = 0.7,
           minutes: int = 0) -> ScoredCall:
    bias = outcome if hit else ("BEARISH" if outcome != "BEARISH" else "BULLISH")
    return ScoredCall(1, T0 + timedelta(minutes=minutes), "news", "m", "bias", bias,
                      confidence, outcome, hit)


def test_a_move_is_scored_with_the_training_labels_dead_band():
    assert score("BULLISH", 2.0) == ("BULLISH", True)
    assert score("bullish", -2.0) == ("BEARISH", False)
    assert score("NEUTRAL", 0.75) == ("NEUTRAL", True)


def test_brier_hit_rate_and_base_rate():
    calls = [scored(True)] * 7 + [scored(False)] * 3
    figures = calibration(calls)
    assert (figures.calls, figures.hits, figures.hit_rate) == (10, 7, 0.7)
    assert figures.brier == pytest.approx(0.7 * 0.3 ** 2 + 0.3 * 0.7 ** 2)
    assert figures.base_rate == 1.0, "every move was up: always BULLISH is right every time"
    assert figures.hit_low < 0.7 < figures.hit_high
    assert calibration([]).hit_rate is None


def test_wilson_interval_covers_the_truth_about_95_percent_of_the_time():
    rng = random.Random(2)
    covered = 0
    for _ in range(400):
        hits = sum(rng.random() < 0.7 for _ in range(200))
        low, high = wilson(hits, 200)
        covered += low <= 0.7 <= high
    assert 0.92 <= covered / 400 <= 0.98


def test_skill_is_zero_below_the_minimum_count_and_at_the_base_rate():
    mixed = [scored(i % 2 == 0, "BULLISH" if i % 4 < 2 else "BEARISH") for i in range(100)]
    assert skill(mixed) == 0.0, "half right when half the moves are up: no skill"
    good = [scored(i % 10 < 8, "BULLISH" if i % 2 else "BEARISH") for i in range(200)]
    assert 0.3 < skill(good) < 0.6
    assert skill(good[:10]) == 0.0, "too few calls to show skill"


def test_skill_before_uses_only_calls_whose_horizon_ended():
    calls = [scored(True, "BULLISH" if i % 2 else "BEARISH", minutes=i) for i in range(60)]
    assert skill_before(calls, T0 + timedelta(minutes=44)) == 0.0
    assert skill_before(calls, T0 + timedelta(minutes=45 + 59)) == skill(calls) > 0


def test_calls_without_a_market_bar_or_a_journaled_horizon_are_not_scored():
    prompt = ('Trigger: {}\nMarket snapshot (JSON):\n{"symbol": "MES", '
              '"time_utc": "2025-03-03T15:00:00+00:00"}\n')
    call = AnsweredCall(1, T0, "news", "bedrock", "m", "", prompt, "BULLISH", 0.8)
    closes = {T0: 5000.0, T0 + timedelta(minutes=45): 5003.0}
    done, missing = score_calls([call, AnsweredCall(2, T0, "manual", "b", "m", "", "no bar",
                                                    "BULLISH", 0.8)],
                                lambda _symbol, ts: closes.get(ts))
    assert missing == 1 and done[0].hit and done[0].mode == "unknown"
    assert score_calls([call], lambda _s, ts: closes.get(ts) if ts == T0 else None) == ([], 1)


def test_deciles_group_by_stated_confidence():
    calls = [scored(True, confidence=0.72), scored(False, confidence=0.78),
             scored(True, confidence=1.0)]
    assert [(low, f.calls) for low, _, f in by_decile(calls)] == [(0.7, 2), (0.9, 1)]


def test_skill_scaled_scales_the_nudge_and_floors_it_at_zero():
    reply, _ = parse_reply({"bias": "BULLISH", "confidence": 0.8, "action": "BUY",
                            "rationale": "", "key_factors": [], "risk_notes": ""})
    plain, scaled = LlmConfig(mode="bias"), LlmConfig(mode="bias", skill_scaled=True)
    full = llm_influence(state_from_reply(reply, T0, 60, 1, skill=0.5), Action.BUY, T0, plain)
    half = llm_influence(state_from_reply(reply, T0, 60, 1, skill=0.5), Action.BUY, T0, scaled)
    none = llm_influence(state_from_reply(reply, T0, 60, 1, skill=-3.0), Action.SELL, T0,
                         scaled)
    assert full.adjustment > 0 and half.adjustment == pytest.approx(full.adjustment / 2)
    assert none.adjustment == 0.0 and "skill 0.00" in none.note
