"""Strategy votes at and around every threshold, the registry, and properties of every vote."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.strategies import (
    STRATEGIES,
    StrategySpec,
    breakout,
    get_strategy,
    momentum_reversal,
    opening_range_breakout,
    rsi_macd,
    run_strategies,
    unknown_strategy_names,
)
from bot.core.strategies.voting import MIN_ACTIVE_CONFIDENCE, WARMING_UP, missing_features
from shared.config.settings import (
    STRATEGY_NAMES,
    BreakoutParams,
    MomentumReversalParams,
    RsiMacdParams,
    StrategiesConfig,
)
from shared.domain.models import Action, Features, Vote

NEUTRAL = dict(
    ts=datetime(2025, 1, 6, 15, 0, tzinfo=UTC), open=5000.0, high=5001.0, low=4999.0,
    close=5000.0, volume=100.0, bars_in_window=500, rsi=50.0, rsi_prev=50.0, macd=0.0,
    macd_signal=0.0, macd_hist=0.02, macd_hist_prev=0.03, atr_points=1.0, atr_baseline_points=1.0,
    ema_fast=5000.0, ema_slow=5000.0, sma_slow=5000.0, bollinger_upper=5004.0,
    bollinger_middle=5000.0, bollinger_lower=4996.0, bollinger_percent=0.5,
    rate_of_change_pct=0.0, momentum_points=0.0, volume_zscore=0.0, body_over_atr=0.0,
    realized_vol_pct=0.01,
)
NOT_INDICATORS = ("ts", "bars_in_window")
NUMERIC_FIELDS = [
    field.name for field in dataclasses.fields(Features) if field.name not in NOT_INDICATORS
]

RSI_MACD_BUY = dict(macd_hist_prev=-0.02, macd_hist=0.10, macd=1.0, rsi=60.0, rsi_prev=55.0,
                    ema_fast=5001.0)
RSI_MACD_SELL = dict(macd_hist_prev=0.02, macd_hist=-0.10, macd=-1.0, rsi=40.0, rsi_prev=45.0,
                     ema_fast=4999.0)
RSI_MACD_WEAK_BUY = dict(macd_hist_prev=-0.01, macd_hist=0.005, macd=0.05, rsi=52.0, rsi_prev=53.0,
                         ema_fast=4999.9)
REVERSAL_BUY = dict(bollinger_percent=-0.10, rsi=18.0, macd_hist=-0.50, macd_hist_prev=-0.52)
REVERSAL_SELL = dict(bollinger_percent=1.10, rsi=82.0, macd_hist=0.50, macd_hist_prev=0.52)
REVERSAL_WEAK_BUY = dict(bollinger_percent=-0.005, rsi=24.5, macd_hist=-0.50, macd_hist_prev=-0.42)
BREAKOUT_BUY = dict(open=5000.0, close=5004.5, body_over_atr=3.0, volume_zscore=4.5,
                    bollinger_upper=5004.0, ema_fast=5001.0)
BREAKOUT_SELL = dict(open=5000.0, close=4995.5, body_over_atr=-3.0, volume_zscore=4.5,
                     bollinger_lower=4996.0, ema_fast=4999.0)
BREAKOUT_WEAK_BUY = dict(open=5000.0, close=5001.25, body_over_atr=1.25, volume_zscore=1.6,
                         ema_fast=5000.5)

VOTERS = {
    "rsi_macd": (rsi_macd.vote, RsiMacdParams()),
    "momentum_reversal": (momentum_reversal.vote, MomentumReversalParams()),
    "breakout": (breakout.vote, BreakoutParams()),
}


def make_features(**overrides: object) -> Features:
    """A quiet bar where no strategy fires, with ``overrides`` applied."""
    return Features(**{**NEUTRAL, **overrides})


def cast(name: str, features: Features, sentiment: float | None = None) -> Vote:
    vote_function, params = VOTERS[name]
    return vote_function(features, params, sentiment)


@pytest.mark.parametrize(
    ("name", "setup", "action"),
    [
        ("rsi_macd", RSI_MACD_BUY, Action.BUY),
        ("rsi_macd", RSI_MACD_SELL, Action.SELL),
        ("momentum_reversal", REVERSAL_BUY, Action.BUY),
        ("momentum_reversal", REVERSAL_SELL, Action.SELL),
        ("breakout", BREAKOUT_BUY, Action.BUY),
        ("breakout", BREAKOUT_SELL, Action.SELL),
    ],
)
def test_clear_setup_votes_above_the_entry_gate(name: str, setup: dict, action: Action) -> None:
    vote = cast(name, make_features(**setup))
    assert (vote.strategy, vote.action) == (name, action)
    assert 0.5 < vote.confidence <= 1.0
    assert vote.reasons and all(isinstance(reason, str) for reason in vote.reasons)


@pytest.mark.parametrize(
    ("name", "setup"),
    [
        ("rsi_macd", RSI_MACD_WEAK_BUY),
        ("momentum_reversal", REVERSAL_WEAK_BUY),
        ("breakout", BREAKOUT_WEAK_BUY),
    ],
)
def test_marginal_setup_votes_below_the_entry_gate(name: str, setup: dict) -> None:
    vote = cast(name, make_features(**setup))
    assert vote.action is Action.BUY
    assert MIN_ACTIVE_CONFIDENCE <= vote.confidence < 0.5


@pytest.mark.parametrize("name", sorted(VOTERS))
def test_quiet_bar_holds_with_zero_confidence_and_a_reason(name: str) -> None:
    vote = cast(name, make_features())
    assert (vote.action, vote.confidence) == (Action.HOLD, 0.0)
    assert vote.reasons


@pytest.mark.parametrize(
    ("name", "setup", "field"),
    [(name, setup, field) for name, setup, fields in [
        ("rsi_macd", RSI_MACD_BUY, rsi_macd.INPUTS),
        ("momentum_reversal", REVERSAL_BUY, momentum_reversal.INPUTS),
        ("breakout", BREAKOUT_BUY, breakout.INPUTS),
    ] for field in fields],
)
def test_nan_input_holds_while_warming_up(name: str, setup: dict, field: str) -> None:
    vote = cast(name, make_features(**{**setup, field: math.nan}))
    assert (vote.action, vote.confidence) == (Action.HOLD, 0.0)
    assert vote.reasons[0] == WARMING_UP
    assert field in vote.reasons[1]


def test_nan_in_a_feature_the_strategy_does_not_read_is_ignored() -> None:
    vote = cast("rsi_macd", make_features(**RSI_MACD_BUY, atr_baseline_points=math.nan))
    assert vote.action is Action.BUY


@pytest.mark.parametrize(
    ("overrides", "action"),
    [
        ({"rsi": 50.0}, Action.HOLD),  # the RSI midline is not bullish yet
        ({"rsi": 50.1}, Action.BUY),
        ({"rsi": 69.9}, Action.BUY),
        ({"rsi": 70.0}, Action.HOLD),  # overbought
        ({"macd": 0.0}, Action.HOLD),  # the MACD line must agree
        ({"macd_hist_prev": 0.0}, Action.BUY),  # from zero counts as a cross
        ({"macd_hist_prev": 0.01}, Action.HOLD),  # already positive: no fresh cross
        ({"macd_hist": 0.0}, Action.HOLD),
    ],
)
def test_rsi_macd_buy_thresholds(overrides: dict, action: Action) -> None:
    assert cast("rsi_macd", make_features(**{**RSI_MACD_BUY, **overrides})).action is action


@pytest.mark.parametrize(
    ("overrides", "action"),
    [
        ({"rsi": 50.0}, Action.HOLD),
        ({"rsi": 49.9}, Action.SELL),
        ({"rsi": 30.1}, Action.SELL),
        ({"rsi": 30.0}, Action.HOLD),  # oversold
        ({"macd": 0.0}, Action.HOLD),
        ({"macd_hist_prev": -0.01}, Action.HOLD),
    ],
)
def test_rsi_macd_sell_thresholds(overrides: dict, action: Action) -> None:
    assert cast("rsi_macd", make_features(**{**RSI_MACD_SELL, **overrides})).action is action


def test_rsi_macd_zone_follows_the_params() -> None:
    features = make_features(**{**RSI_MACD_BUY, "rsi": 75.0})
    assert rsi_macd.vote(features, RsiMacdParams()).action is Action.HOLD
    wide = RsiMacdParams(oversold=20.0, overbought=80.0)
    assert rsi_macd.vote(features, wide).action is Action.BUY


def test_rsi_macd_reasons_carry_the_numbers() -> None:
    reasons = " ".join(cast("rsi_macd", make_features(**RSI_MACD_BUY)).reasons)
    assert "RSI 60.0" in reasons and "crossed up" in reasons


@pytest.mark.parametrize(
    ("setup", "sentiment", "change"),
    [
        (RSI_MACD_WEAK_BUY, 1.0, +0.2),
        (RSI_MACD_WEAK_BUY, 7.5, +0.2),  # clamped to 1
        (RSI_MACD_WEAK_BUY, 0.5, +0.1),
        (RSI_MACD_BUY, -1.0, -0.2),
        (RSI_MACD_BUY, -40.0, -0.2),  # clamped to -1
        (RSI_MACD_SELL, -1.0, +0.2),  # bearish sentiment agrees with a SELL
        (RSI_MACD_SELL, 1.0, -0.2),
        (RSI_MACD_BUY, math.nan, 0.0),
        (RSI_MACD_BUY, 0.0, 0.0),
    ],
)
def test_sentiment_nudges_rsi_macd_confidence(setup: dict, sentiment: float, change: float) -> None:
    features = make_features(**setup)
    plain, nudged = cast("rsi_macd", features), cast("rsi_macd", features, sentiment)
    assert nudged.action is plain.action
    assert nudged.confidence == pytest.approx(plain.confidence + change)


def test_bearish_sentiment_cannot_turn_a_weak_buy_into_a_hold() -> None:
    features = make_features(**RSI_MACD_WEAK_BUY)
    params = RsiMacdParams(sentiment_weight=1.0)
    vote = rsi_macd.vote(features, params, sentiment=-1.0)
    assert (vote.action, vote.confidence) == (Action.BUY, MIN_ACTIVE_CONFIDENCE)


def test_sentiment_alone_never_makes_rsi_macd_fire() -> None:
    vote = rsi_macd.vote(make_features(), RsiMacdParams(sentiment_weight=1.0), sentiment=1.0)
    assert (vote.action, vote.confidence) == (Action.HOLD, 0.0)


@pytest.mark.parametrize(
    ("overrides", "action"),
    [
        ({"bollinger_percent": 0.0}, Action.HOLD),  # on the band is not past it
        ({"bollinger_percent": -0.001}, Action.BUY),
        ({"rsi": 25.0}, Action.HOLD),
        ({"rsi": 24.9}, Action.BUY),
        ({"macd_hist_prev": -0.45}, Action.BUY),  # fell 10% of its depth: flattening
        ({"macd_hist_prev": -0.38}, Action.HOLD),  # fell 24%: still pushing down
        ({"macd_hist": 0.10, "macd_hist_prev": 0.20}, Action.HOLD),
    ],
)
def test_momentum_reversal_buy_thresholds(overrides: dict, action: Action) -> None:
    features = make_features(**{**REVERSAL_BUY, **overrides})
    assert cast("momentum_reversal", features).action is action


@pytest.mark.parametrize(
    ("overrides", "action"),
    [
        ({"bollinger_percent": 1.0}, Action.HOLD),
        ({"bollinger_percent": 1.001}, Action.SELL),
        ({"rsi": 75.0}, Action.HOLD),
        ({"rsi": 75.1}, Action.SELL),
        ({"macd_hist_prev": 0.46}, Action.SELL),
        ({"macd_hist_prev": 0.38}, Action.HOLD),
    ],
)
def test_momentum_reversal_sell_thresholds(overrides: dict, action: Action) -> None:
    features = make_features(**{**REVERSAL_SELL, **overrides})
    assert cast("momentum_reversal", features).action is action


def test_momentum_reversal_honours_excess_and_turn_tolerance() -> None:
    strict = MomentumReversalParams(min_bollinger_excess=0.05, histogram_turn_tolerance=0.0)
    assert momentum_reversal.vote(make_features(**REVERSAL_BUY), strict).action is Action.BUY
    shallow = make_features(**{**REVERSAL_BUY, "bollinger_percent": -0.05})
    assert momentum_reversal.vote(shallow, strict).action is Action.HOLD
    flattening = make_features(**{**REVERSAL_BUY, "macd_hist_prev": -0.49})
    assert momentum_reversal.vote(flattening, strict).action is Action.HOLD


def test_momentum_reversal_confidence_grows_with_the_stretch() -> None:
    confidences = [
        cast("momentum_reversal", make_features(**{**REVERSAL_BUY, "bollinger_percent": b}))
        .confidence
        for b in (-0.01, -0.05, -0.10, -0.20)
    ]
    assert confidences == sorted(confidences) and confidences[0] < confidences[-1]


@pytest.mark.parametrize(
    ("overrides", "action"),
    [
        ({"body_over_atr": 1.19}, Action.HOLD),
        ({"body_over_atr": 1.2}, Action.BUY),
        ({"volume_zscore": 1.49}, Action.HOLD),
        ({"volume_zscore": 1.5}, Action.BUY),
        ({"bollinger_upper": 5010.0}, Action.BUY),  # inside the band, the EMA trend agrees
        ({"bollinger_upper": 5010.0, "ema_fast": 4999.0}, Action.HOLD),  # nothing confirms
        ({"ema_fast": 4999.0}, Action.BUY),  # against the trend, beyond the band
        ({"close": 5000.0}, Action.HOLD),  # no body
    ],
)
def test_breakout_thresholds(overrides: dict, action: Action) -> None:
    assert cast("breakout", make_features(**{**BREAKOUT_BUY, **overrides})).action is action


def test_breakout_reads_direction_from_the_bar_not_the_sign_of_body_over_atr() -> None:
    unsigned_down_bar = make_features(**{**BREAKOUT_SELL, "body_over_atr": 3.0})
    assert cast("breakout", unsigned_down_bar).action is Action.SELL


def test_breakout_confidence_grows_with_body_and_volume() -> None:
    weak = cast("breakout", make_features(**BREAKOUT_WEAK_BUY)).confidence
    wider = cast("breakout", make_features(**{**BREAKOUT_WEAK_BUY, "body_over_atr": 2.4}))
    louder = cast("breakout", make_features(**{**BREAKOUT_WEAK_BUY, "volume_zscore": 3.5}))
    assert weak < wider.confidence and weak < louder.confidence


@pytest.mark.parametrize("name", ["momentum_reversal", "breakout"])
def test_strategies_without_a_sentiment_weight_ignore_sentiment(name: str) -> None:
    setup = REVERSAL_BUY if name == "momentum_reversal" else BREAKOUT_BUY
    features = make_features(**setup)
    assert cast(name, features, -1.0) == cast(name, features) == cast(name, features, 1.0)


# --- registry and config ------------------------------------------------------------------------


def test_registry_names_match_the_config_list() -> None:
    assert sorted(STRATEGIES) == sorted(STRATEGY_NAMES)
    assert all(isinstance(spec, StrategySpec) and spec.name == name
               for name, spec in STRATEGIES.items())


@pytest.mark.parametrize("name", sorted(VOTERS))
def test_get_strategy_returns_the_vote_function_and_its_params(name: str) -> None:
    spec = get_strategy(name)
    cfg = StrategiesConfig()
    assert spec.vote is VOTERS[name][0]
    assert spec.params_of(cfg) is getattr(cfg, name)


def test_unknown_strategy_name_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown strategy 'macd_magic'") as caught:
        get_strategy("macd_magic")
    assert all(name in str(caught.value) for name in STRATEGY_NAMES)


def test_unknown_strategy_names_lists_each_stranger_once() -> None:
    assert unknown_strategy_names(["rsi_macd", "zeta", "alpha", "zeta"]) == ["alpha", "zeta"]
    assert unknown_strategy_names(STRATEGY_NAMES) == []


def test_config_rejects_weights_for_unknown_strategies() -> None:
    with pytest.raises(ValidationError, match="unknown strategy rsi_macdd; known: breakout"):
        StrategiesConfig(weights={"rsi_macd": 1.0, "rsi_macdd": 1.0})


@pytest.mark.parametrize(
    "make",
    [
        lambda: RsiMacdParams(oversold=70.0, overbought=70.0),
        lambda: MomentumReversalParams(rsi_extreme_low=80.0, rsi_extreme_high=20.0),
        lambda: MomentumReversalParams(histogram_turn_tolerance=1.5),
    ],
)
def test_config_rejects_inverted_or_out_of_range_params(make: Callable[[], object]) -> None:
    with pytest.raises(ValidationError):
        make()


def test_run_strategies_runs_weighted_strategies_in_name_order() -> None:
    features = make_features(**RSI_MACD_BUY)
    votes = run_strategies(features, StrategiesConfig())
    assert [vote.strategy for vote in votes] == sorted(StrategiesConfig().weights)
    some = StrategiesConfig(weights={"rsi_macd": 2.0, "breakout": 0.0, "momentum_reversal": 1.0})
    assert [vote.strategy for vote in run_strategies(features, some)] == [
        "momentum_reversal", "rsi_macd"
    ]


def test_run_strategies_passes_sentiment_and_params() -> None:
    cfg = StrategiesConfig(weights={"rsi_macd": 1.0}, rsi_macd=RsiMacdParams(sentiment_weight=0.1))
    features = make_features(**RSI_MACD_BUY)
    (vote,) = run_strategies(features, cfg, sentiment=1.0)
    assert vote == rsi_macd.vote(features, cfg.rsi_macd, 1.0)


# --- properties -----------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
any_sentiment = st.none() | st.floats(allow_nan=True, allow_infinity=True)
any_features = st.fixed_dictionaries({name: finite for name in NUMERIC_FIELDS}).map(
    lambda values: make_features(**values)
)
near_setups = st.sampled_from(
    [RSI_MACD_BUY, RSI_MACD_SELL, REVERSAL_BUY, REVERSAL_SELL, BREAKOUT_BUY, BREAKOUT_SELL]
).flatmap(
    lambda setup: st.fixed_dictionaries(
        {name: st.just(value) | finite for name, value in setup.items()}
    ).map(lambda values: make_features(**values))
)


@settings(max_examples=300, deadline=None)
@given(features=any_features | near_setups, sentiment=any_sentiment)
def test_every_vote_is_well_formed(features: Features, sentiment: float | None) -> None:
    for name, spec in STRATEGIES.items():
        vote = spec.run(features, StrategiesConfig(), sentiment)
        assert vote.strategy == name and vote.reasons
        assert 0.0 <= vote.confidence <= 1.0
        assert (vote.action is Action.HOLD) == (vote.confidence == 0.0)


@settings(max_examples=300, deadline=None)
@given(
    features=any_features | near_setups,
    sentiment=any_sentiment,
    weight=st.floats(min_value=0.0, max_value=1.0),
)
def test_sentiment_never_flips_and_moves_at_most_its_weight(
    features: Features, sentiment: float | None, weight: float
) -> None:
    params = RsiMacdParams(sentiment_weight=weight)
    plain = rsi_macd.vote(features, params)
    nudged = rsi_macd.vote(features, params, sentiment)
    assert nudged.action is plain.action
    assert abs(nudged.confidence - plain.confidence) <= weight + 1e-12


# --- a random-walk market: each strategy fires now and then --------------------------------------


def random_walk_features(bars: int, seed: int) -> list[Features]:
    """ES-like 5 s bars (clustered volatility, volume up on big moves) and their indicators."""
    rng = np.random.default_rng(seed)
    log_vol = np.zeros(bars)
    for i in range(1, bars):
        log_vol[i] = 0.995 * log_vol[i - 1] + 0.035 * rng.standard_normal()
    sigma = 0.4 * np.exp(log_vol)
    steps = rng.standard_t(4, size=(bars, 5)) * (sigma[:, None] / math.sqrt(10))
    path = 5000.0 + np.cumsum(steps.ravel()).reshape(bars, 5)
    close = np.round(path[:, -1] * 4) / 4
    open_ = np.concatenate([[5000.0], close[:-1]])
    high = np.maximum(np.round(path.max(axis=1) * 4) / 4, np.maximum(open_, close))
    low = np.minimum(np.round(path.min(axis=1) * 4) / 4, np.minimum(open_, close))
    volume = np.round(40 * np.exp(0.5 * rng.standard_normal(bars)) *
                      (1 + 0.8 * np.abs(close - open_) / sigma))
    c, v = pd.Series(close), pd.Series(volume)
    gain = c.diff().clip(lower=0).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
    loss = (-c.diff()).clip(lower=0).ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
    rsi = 100 - 100 / (1 + gain / loss)
    macd = c.ewm(span=12, adjust=False).mean() - c.ewm(span=26, adjust=False).mean()
    macd = macd.where(c.index >= 25)
    hist = macd - macd.ewm(span=9, adjust=False, min_periods=9).mean()
    previous = c.shift()
    true_range = pd.concat(
        [pd.Series(high - low), (pd.Series(high) - previous).abs(),
         (pd.Series(low) - previous).abs()], axis=1,
    ).max(axis=1)
    atr = true_range.ewm(alpha=1 / 14, adjust=False, min_periods=14).mean()
    middle, spread = c.rolling(20).mean(), 2 * c.rolling(20).std(ddof=0)
    columns = {
        "rsi": rsi, "rsi_prev": rsi.shift(), "macd": macd,
        "macd_signal": macd - hist, "macd_hist": hist, "macd_hist_prev": hist.shift(),
        "atr_points": atr, "atr_baseline_points": atr.rolling(100).mean(),
        "ema_fast": c.ewm(span=9, adjust=False).mean(),
        "ema_slow": c.ewm(span=21, adjust=False).mean(), "sma_slow": c.rolling(50).mean(),
        "bollinger_upper": middle + spread, "bollinger_middle": middle,
        "bollinger_lower": middle - spread,
        "bollinger_percent": (c - middle + spread) / (2 * spread),
        "rate_of_change_pct": c.pct_change(12) * 100, "momentum_points": c.diff(12),
        "volume_zscore": (v - v.shift().rolling(20).mean()) / v.shift().rolling(20).std(ddof=0),
        "body_over_atr": (c - open_) / atr,
        "realized_vol_pct": np.log(c).diff().rolling(60).std() * 100,
    }
    table = pd.DataFrame(columns).astype(float)
    start = datetime(2025, 1, 6, 14, 30, tzinfo=UTC)
    return [
        Features(
            ts=start + timedelta(seconds=5 * i), open=float(open_[i]), high=float(high[i]),
            low=float(low[i]), close=float(close[i]), volume=float(volume[i]),
            bars_in_window=min(i + 1, 500), **row,
        )
        for i, row in enumerate(table.to_dict("records"))
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_each_strategy_fires_now_and_then_on_a_random_walk(seed: int) -> None:
    market = random_walk_features(20_000, seed)[200:]
    cfg = StrategiesConfig()
    fired = {name: 0 for name, weight in cfg.weights.items() if weight > 0}  # the default ones
    for features in market:
        for vote in run_strategies(features, cfg):
            fired[vote.strategy] += vote.action is not Action.HOLD
    rates = {name: count / len(market) for name, count in fired.items()}
    assert all(0.005 <= rate <= 0.05 for rate in rates.values()), rates


def test_warm_up_bars_hold() -> None:
    first = random_walk_features(40, 3)[0]
    assert all(vote.reasons[0] == WARMING_UP for vote in run_strategies(first, StrategiesConfig()))


# The opening-range breakout (not in the default ensemble).
ORB_RANGE = dict(opening_range_high=5002.0, opening_range_low=4995.0, session_vwap=4999.0)


@pytest.mark.parametrize(
    ("bar", "action"),
    [
        (dict(open=5001.0, close=5003.0), Action.BUY),  # opens inside, closes 1 ATR above
        (dict(open=5002.0, close=5002.5), Action.BUY),  # opens at the high: still a cross
        (dict(open=4996.0, close=4994.0), Action.SELL),
        (dict(open=5003.0, close=5004.0), Action.HOLD),  # already out: not the crossing bar
        (dict(open=5001.0, close=5002.0), Action.HOLD),  # at the high, not beyond
        (dict(open=5001.0, close=5002.2), Action.HOLD),  # 0.2 ATR < 0.25
    ],
)
def test_opening_range_breakout_fires_on_the_crossing_bar(bar: dict, action: Action) -> None:
    params = StrategiesConfig().opening_range_breakout
    vote = opening_range_breakout.vote(make_features(**ORB_RANGE, **bar), params)
    assert vote.action is action, vote.reasons
    if action is not Action.HOLD:
        assert 0.5 < vote.confidence <= 1.0  # a clean break passes the entry gate


def test_opening_range_breakout_wants_vwap_on_its_side_unless_told_not_to() -> None:
    below_vwap = make_features(**{**ORB_RANGE, "session_vwap": 5010.0}, open=5001.0,
                               close=5003.0)
    params = StrategiesConfig().opening_range_breakout
    assert opening_range_breakout.vote(below_vwap, params).action is Action.HOLD
    loose = params.model_copy(update={"vwap_confirms": False})
    assert opening_range_breakout.vote(below_vwap, loose).action is Action.BUY


@pytest.mark.parametrize("field", opening_range_breakout.INPUTS)
def test_opening_range_breakout_holds_until_the_range_is_known(field: str) -> None:
    features = make_features(**{**ORB_RANGE, "open": 5001.0, "close": 5003.0, field: math.nan})
    vote = opening_range_breakout.vote(features, StrategiesConfig().opening_range_breakout)
    assert (vote.action, vote.reasons[0]) == (Action.HOLD, WARMING_UP)


def test_opening_range_breakout_is_selectable_but_not_in_the_default_ensemble() -> None:
    assert "opening_range_breakout" not in StrategiesConfig().weights
    chosen = StrategiesConfig(weights={"opening_range_breakout": 1.0})
    features = make_features(**ORB_RANGE, open=5001.0, close=5003.0)
    assert [(v.strategy, v.action) for v in run_strategies(features, chosen)] == [
        ("opening_range_breakout", Action.BUY)]


def test_missing_features_names_each_unready_input_in_the_order_asked() -> None:
    features = make_features(rsi=math.nan, macd=math.inf, ema_fast=-math.inf)
    assert missing_features(features, ("macd", "close", "rsi", "ema_fast")) == (
        "macd", "rsi", "ema_fast")
    assert missing_features(features, ["rsi"]) == ("rsi",)  # one name, any iterable
    assert missing_features(features, iter(("close", "volume"))) == ()
    assert missing_features(features, ()) == ()


def test_run_strategies_follows_a_change_of_weights() -> None:
    """The voters are looked up once per weights: new weights (a reload) pick new voters."""
    features = make_features(**RSI_MACD_BUY)
    for weights, names in (({"rsi_macd": 1.0, "breakout": 1.0}, ["breakout", "rsi_macd"]),
                           ({"rsi_macd": 0.0, "breakout": 1.0}, ["breakout"]),
                           ({"rsi_macd": 1.0, "breakout": 1.0}, ["breakout", "rsi_macd"]),
                           ({"rsi_macd": 2.0, "momentum_reversal": 1.0},
                            ["momentum_reversal", "rsi_macd"])):
        votes = run_strategies(features, StrategiesConfig(weights=weights))
        assert [vote.strategy for vote in votes] == names
