"""The strategy registry: every local strategy by name, its vote, its firing condition and params.

``run_strategies`` runs each strategy with a positive weight, sorted by name, so the votes come
out in the same order every time; ``may_any_fire`` ORs their vectorised firing conditions (the
backtester's fast path). The names must equal ``shared.config.settings.STRATEGY_NAMES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np

from bot.core.feature_columns import FeatureColumns
from shared.config.settings import StrategiesConfig
from shared.domain.models import Features, Vote

from . import (
    breakout,
    momentum_reversal,
    opening_range_breakout,
    rsi_macd,
    rsi_macd_bracket,
    sma_cross,
)


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One strategy: its name, its pure vote, its firing condition and where its params live.

    ``may_fire`` is the vote's necessary condition, vectorised over feature columns: True on
    every bar where the vote could be BUY or SELL (it may say True where the vote holds). It
    lives beside the vote, in the strategy's own module, so an edit to one is an edit to both;
    the backtester reads it to skip bars on which nothing can happen, and a test runs the live
    vote on every bar to prove it never misses one.
    """

    name: str
    vote: Callable[[Features, Any, float | None], Vote]
    params_of: Callable[[StrategiesConfig], Any]
    may_fire: Callable[[FeatureColumns, Any], np.ndarray]

    def run(
        self, features: Features, cfg: StrategiesConfig, sentiment: float | None = None
    ) -> Vote:
        """Vote on these features with this strategy's params from ``cfg``."""
        return self.vote(features, self.params_of(cfg), sentiment)

    def may_fire_on(self, columns: FeatureColumns, cfg: StrategiesConfig) -> np.ndarray:
        """Bars on which this strategy may vote BUY or SELL with its params from ``cfg``."""
        return np.asarray(self.may_fire(columns, self.params_of(cfg)), dtype=bool)


STRATEGIES: Mapping[str, StrategySpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            StrategySpec(breakout.NAME, breakout.vote, lambda cfg: cfg.breakout,
                         breakout.may_fire),
            StrategySpec(momentum_reversal.NAME, momentum_reversal.vote,
                         lambda cfg: cfg.momentum_reversal, momentum_reversal.may_fire),
            StrategySpec(rsi_macd.NAME, rsi_macd.vote, lambda cfg: cfg.rsi_macd,
                         rsi_macd.may_fire),
            StrategySpec(opening_range_breakout.NAME, opening_range_breakout.vote,
                         lambda cfg: cfg.opening_range_breakout, opening_range_breakout.may_fire),
        )
    }
)


# Reference strategies check the backtester's fills against independent code. They trade by
# their own rules (fixed size, own brackets, sma_cross reverses), so they are backtest-only:
# not voters, not in StrategiesConfig, never run by the live loop.
REFERENCE_STRATEGIES: Mapping[str, type[Any]] = MappingProxyType(
    {
        sma_cross.NAME: sma_cross.SmaCrossParams,
        rsi_macd_bracket.NAME: rsi_macd_bracket.RsiMacdBracketParams,
    }
)


def get_strategy(name: str) -> StrategySpec:
    """Return the registered strategy called ``name``; ValueError names the known ones."""
    spec = STRATEGIES.get(name)
    if spec is None:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}")
    return spec


def unknown_strategy_names(names: Iterable[str]) -> list[str]:
    """Return the given names that are not registered strategies, sorted, without repeats."""
    return sorted(set(names) - set(STRATEGIES))


def may_any_fire(columns: FeatureColumns, cfg: StrategiesConfig) -> np.ndarray:
    """Bars on which some strategy with a positive weight may vote BUY or SELL."""
    count = len(columns["close"])
    mask = np.zeros(count, dtype=bool)
    for name, weight in sorted(cfg.weights.items()):
        if weight > 0:
            mask |= get_strategy(name).may_fire_on(columns, cfg)
    return mask


def run_strategies(
    features: Features, cfg: StrategiesConfig, sentiment: float | None = None
) -> tuple[Vote, ...]:
    """Run every strategy whose weight in ``cfg.weights`` is above zero, in name order."""
    return tuple([spec.vote(features, spec.params_of(cfg), sentiment)
                  for spec in _voters(tuple(cfg.weights.items()))])


@lru_cache(maxsize=64)
def _voters(weights: tuple[tuple[str, float], ...]) -> tuple[StrategySpec, ...]:
    """The strategies with a positive weight, in name order (looked up once per weights, not
    on every bar)."""
    return tuple(get_strategy(name) for name in sorted(name for name, w in weights if w > 0))
