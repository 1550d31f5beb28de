"""The decision row's JSON is the text ``json.dumps(..., sort_keys=True)`` always gave.

``features_json`` formats the numbers itself (the live loop writes one per bar); these tests
compare it with the plain ``json.dumps`` of the same dict on real feature values, warm-up
NaNs, infinities, numpy floats and with and without a sentiment.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields, replace

import numpy as np
import pytest

from bot.backtest.data import synthetic_data
from bot.core.decision_json import features_json, regime_json, votes_json
from bot.core.incremental_features import IncrementalFeatures
from shared.config.settings import FeatureConfig
from shared.domain.models import (
    Action,
    Features,
    Regime,
    Signal,
    TimeBucket,
    TrendLabel,
    VolatilityLabel,
    Vote,
)

pytestmark = pytest.mark.unit

NAMES = tuple(f.name for f in fields(Features) if f.name != "ts")


def plain_features_json(features: Features, sentiment: float | None) -> str:
    """The serialiser as it was written first: a dict through json.dumps."""
    data = {}
    for name in NAMES:
        value = getattr(features, name)
        data[name] = None if isinstance(value, float) and not math.isfinite(value) else value
    data["sentiment"] = sentiment
    return json.dumps(data, sort_keys=True)


def some_features() -> list[Features]:
    data = synthetic_data(700, 5, 5, None)
    state = IncrementalFeatures(FeatureConfig())
    seen = []
    for index in range(len(data)):
        state.append(data.bar(index))
        if index % 50 == 0 or index == len(data) - 1:
            seen.append(state.features())  # warm-up (NaN) and warm bars
    return seen


@pytest.mark.parametrize("sentiment", [None, 0.25, -1.0, 0])
def test_features_json_is_the_text_json_dumps_gives(sentiment: float | None) -> None:
    for features in some_features():
        assert features_json(features, sentiment) == plain_features_json(features, sentiment)
        json.loads(features_json(features, sentiment))


def test_odd_values_are_written_as_json_dumps_writes_them() -> None:
    features = some_features()[-1]
    odd = replace(features, rsi=math.inf, macd=-math.inf, atr_points=math.nan,
                  ema_fast=np.float64(5001.25), ema_slow=np.float64(math.nan), volume=7,
                  sma_slow=-0.0, bollinger_percent=1e-300)
    assert features_json(odd) == plain_features_json(odd, None)
    parsed = json.loads(features_json(odd))
    assert parsed["rsi"] is None and parsed["ema_slow"] is None and parsed["volume"] == 7


def test_regime_and_votes_json_are_unchanged() -> None:
    regime = Regime(False, ("warming up", "ünïcode"), TrendLabel.RANGE, VolatilityLabel.LOW,
                    TimeBucket.CLOSED, math.nan)
    assert regime_json(regime) == json.dumps(
        {"tradable": False, "reasons": ["warming up", "ünïcode"], "trend": "range",
         "volatility": "low", "time_bucket": TimeBucket.CLOSED.value, "minutes_to_close": None},
        sort_keys=True)
    signal = Signal(Action.BUY, 0.5, (Vote("a", Action.BUY, 0.5, ("r1",)),), ("why",))
    assert votes_json(signal) == json.dumps(
        [{"strategy": "a", "action": "buy", "confidence": 0.5, "reasons": ["r1"]}],
        sort_keys=True)


ODD_TEXTS = ("plain", "quote \" and \\ backslash", "ünïcode ✓", "tab\tnew\nline", "", "\x00")
ODD_NUMBERS = (0.5, 0, 1, -0.0, 1e-300, 1e300, math.nan, math.inf, -math.inf,
               np.float64(0.25), np.float64(math.nan), True, 7)


def plain_regime_json(regime: Regime) -> str:
    minutes = regime.minutes_to_close
    return json.dumps(
        {"tradable": regime.tradable, "reasons": list(regime.reasons),
         "trend": regime.trend.value, "volatility": regime.volatility.value,
         "time_bucket": regime.time_bucket.value,
         "minutes_to_close": None if isinstance(minutes, float) and not math.isfinite(minutes)
         else minutes},
        sort_keys=True)


def plain_votes_json(signal: Signal) -> str:
    return json.dumps(
        [{"strategy": v.strategy, "action": v.action.value, "confidence": v.confidence,
          "reasons": list(v.reasons)} for v in signal.votes],
        sort_keys=True)


@pytest.mark.parametrize("number", ODD_NUMBERS, ids=repr)
def test_regime_and_votes_json_match_json_dumps_on_odd_values(number: float) -> None:
    for tradable in (True, False):
        for reasons in ((), ODD_TEXTS, ("one",)):
            regime = Regime(tradable, reasons, TrendLabel.TREND_UP, VolatilityLabel.HIGH,
                            TimeBucket.CLOSED, number)
            assert regime_json(regime) == plain_regime_json(regime)
    votes = tuple(Vote(name, action, number, ODD_TEXTS[: i + 1])
                  for i, (name, action) in enumerate(zip(ODD_TEXTS, Action, strict=False)))
    for signal in (Signal(Action.HOLD, 0.0, (), ()), Signal(Action.SELL, 0.5, votes, ("x",))):
        assert votes_json(signal) == plain_votes_json(signal)


def test_reasons_that_are_not_all_plain_texts_are_written_as_json_dumps_writes_them() -> None:
    """Texts go through one C pass; a reason of another type (or a text subclass) falls back
    to the value-by-value encoding, with the same result as json.dumps."""
    for reasons in (("a", 7, None), (TimeBucket.OPEN, "b"), ("x", 0.5, math.nan, True)):
        signal = Signal(Action.BUY, 0.5, (Vote("s", Action.BUY, 0.5, reasons),), ())
        assert votes_json(signal) == plain_votes_json(signal)
        regime = Regime(False, reasons, TrendLabel.RANGE, VolatilityLabel.LOW,
                        TimeBucket.OPEN, 3.0)
        assert regime_json(regime) == plain_regime_json(regime)
