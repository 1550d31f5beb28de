"""Each strategy's ``may_fire`` and the regime's ``may_allow`` never miss a bar the live code takes.

They are the necessary conditions the backtester skips bars by. The live vote (and the live
regime filter) runs on every bar of synthetic 5-second and 1-minute bars and of real ES minutes
(when ../shared/data is present), on the features the live window computes (``features_at``
with exact windows: bit for bit the live window's, tests/bot/backtest/test_vector_features.py);
wherever it says BUY/SELL (tradable), the vectorised condition must say True, both on the
whole-history columns the backtester reads and on the live values. Default params and looser
ones, so that every strategy fires often. On the same bars, the regime's labels vary.
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bot.backtest.data import BarData, file_data, synthetic_data
from bot.backtest.vector_features import (
    ExactWindows,
    atr_ratio_margin,
    feature_columns,
    feature_matrix,
    features_at,
)
from bot.core import regime
from bot.core.session_levels import LevelRules, session_level_columns
from bot.core.sessions import CmeSessionClock
from bot.core.strategies import STRATEGIES
from shared.config.settings import STRATEGY_NAMES, Settings, settings_from_mapping
from shared.domain.models import Action, Features, TrendLabel, VolatilityLabel
from tests.conftest import SHARED_DATA

BARS = 12_000
LOOSE = {
    "rsi_macd": {"oversold": 20.0, "overbought": 80.0},
    "momentum_reversal": {"rsi_extreme_low": 40.0, "rsi_extreme_high": 60.0,
                          "min_bollinger_excess": 0.0, "histogram_turn_tolerance": 0.6},
    "breakout": {"min_body_over_atr": 0.4, "min_volume_zscore": 0.3},
    "opening_range_breakout": {"min_break_over_atr": 0.0, "vwap_confirms": False},
}
CONFIGS = {"defaults": {}, "loose": {"strategies": LOOSE}}
REAL_FILE = "ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv"


@cache
def clock() -> CmeSessionClock:
    return CmeSessionClock(start="2021-01-01", end="2026-12-31")


@cache
def dataset(name: str) -> tuple[BarData, np.ndarray, tuple[Features, ...]]:
    """Bars, their whole-history feature matrix and every bar's live features."""
    cfg = Settings().features
    if name == "synthetic_5s":
        data = synthetic_data(BARS, 5, 5, None)
    elif name == "synthetic_1min":
        data = synthetic_data(BARS, 11, 60, None)
    else:
        data = file_data(SHARED_DATA / REAL_FILE, "America/New_York", None, 0.25)
        data = data.slice(0, BARS)
    levels = session_level_columns(data.ts_ns / 1e9, data.high, data.low, data.close,
                                   data.volume, clock(),
                                   LevelRules(cfg.opening_range_minutes, data.bar_seconds))
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume, cfg, levels)
    exact = ExactWindows(data.open, data.high, data.low, data.close, np.arange(len(data)), cfg)
    live = tuple(features_at(matrix, index, data.ts(index), data.high, data.low, data.close,
                             cfg, True, exact) for index in range(len(data)))
    return data, matrix, live


def live_columns(live: tuple[Features, ...]) -> dict[str, np.ndarray]:
    names = [f.name for f in fields(Features) if f.name != "ts"]
    return {name: np.array([getattr(f, name) for f in live], dtype=float) for name in names}


DATASETS = ["synthetic_5s", "synthetic_1min", "real_es_1min"]


def _load(name: str) -> tuple[BarData, np.ndarray, tuple[Features, ...]]:
    if name == "real_es_1min" and not Path(SHARED_DATA).is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return dataset(name)


def test_every_strategy_owns_a_firing_condition_beside_its_vote() -> None:
    assert sorted(STRATEGIES) == sorted(STRATEGY_NAMES)
    for name, spec in STRATEGIES.items():
        assert callable(spec.may_fire), name
        assert spec.may_fire.__module__ == spec.vote.__module__, name  # same module as the vote


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("strategy", sorted(STRATEGY_NAMES))
def test_may_fire_is_true_on_every_bar_the_live_vote_fires(
    name: str, config: str, strategy: str
) -> None:
    _, matrix, live = _load(name)
    settings = settings_from_mapping(CONFIGS[config], env={})
    spec = STRATEGIES[strategy]
    fired = np.array([spec.run(f, settings.strategies).action is not Action.HOLD for f in live])
    whole_history = spec.may_fire_on(feature_columns(matrix), settings.strategies)
    exact = spec.may_fire_on(live_columns(live), settings.strategies)
    missed = np.flatnonzero(fired & ~(whole_history & exact))
    assert missed.tolist() == [], f"{strategy} fired where may_fire said no"
    if config == "loose":
        # the check is not vacuous (one opening range a day: the 5 s market's 12,000 bars
        # hold a single RTH session)
        assert fired.sum() >= (10 if strategy == "opening_range_breakout" else 20)
    assert whole_history.mean() < 0.5  # and the condition is a real filter


@pytest.mark.parametrize("name", DATASETS)
def test_may_allow_is_true_on_every_bar_the_live_regime_allows(name: str) -> None:
    data, matrix, live = _load(name)
    settings = Settings()
    cfg, close_buffer = settings.regime, settings.risk.no_entry_before_close_minutes
    tradable = np.array([regime.assess_regime(f, cfg, clock(), close_buffer).tradable
                         for f in live])
    margin = atr_ratio_margin(settings.features)
    whole_history = regime.may_allow(feature_columns(matrix), cfg, margin)
    exact = regime.may_allow(live_columns(live), cfg)
    assert np.flatnonzero(tradable & ~(whole_history & exact)).tolist() == []
    assert tradable.sum() > len(data) // 4
    assert not whole_history[: settings.features.window_bars // 2].any()  # warming up


@pytest.mark.parametrize("name", DATASETS)
def test_regime_labels_vary_and_refusals_stay_rare(name: str) -> None:
    # The labels bucket setups for memory: each must actually occur (the trend label used to be
    # "range" on 98 % of trades). Shares seen: trend up/down 13-23 % each, volatility low and
    # high 17-30 % each, "volatility too low" on 4-10 % of bars.
    _, _, live = _load(name)
    settings = Settings()
    warm = live[settings.features.window_bars:]
    regimes = [regime.assess_regime(f, settings.regime, clock(), 15.0) for f in warm]
    for label in TrendLabel:
        assert sum(r.trend is label for r in regimes) >= 0.1 * len(warm), label
    for label in VolatilityLabel:
        assert sum(r.volatility is label for r in regimes) >= 0.1 * len(warm), label
    too_low = sum(any(x.startswith("volatility too low") for x in r.reasons) for r in regimes)
    assert 0 < too_low < 0.2 * len(warm)
