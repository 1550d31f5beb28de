"""Building blocks every strategy uses to turn its checks into a well-formed ``Vote``.

Invariants kept here so each strategy need not repeat them: HOLD has confidence 0, BUY/SELL
have a confidence in [MIN_ACTIVE_CONFIDENCE, 1], and a feature that is NaN or infinite means
the indicators are still warming up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from functools import cache
from operator import attrgetter
from typing import Any

from shared.domain.models import Action, Features, Vote

MIN_ACTIVE_CONFIDENCE = 0.01
WARMING_UP = "warming up"


@cache
def _values_of(names: tuple[str, ...]) -> Callable[[Features], tuple[Any, ...]]:
    """One C call reading the named features as a tuple (built once per strategy's inputs)."""
    getter = attrgetter(*names)
    return getter if len(names) > 1 else lambda features: (getter(features),)


def missing_features(features: Features, names: Iterable[str]) -> tuple[str, ...]:
    """Return the named features whose value is NaN or infinite (not ready yet)."""
    names = tuple(names)
    if not names:
        return ()
    values = _values_of(names)(features)
    if all(map(math.isfinite, values)):  # every bar after warm-up: no per-name Python loop
        return ()
    return tuple(name for name, value in zip(names, values, strict=True)
                 if not math.isfinite(value))


def warming_up_vote(strategy: str, missing: Iterable[str]) -> Vote:
    """HOLD because some inputs are not ready, naming them."""
    detail = f"not ready: {', '.join(missing)}"
    return Vote(strategy, Action.HOLD, 0.0, (WARMING_UP, detail))


def hold_vote(strategy: str, *reasons: str) -> Vote:
    """HOLD with confidence 0 and the reasons no setup was found."""
    return Vote(strategy, Action.HOLD, 0.0, reasons)  # (positional: a vote on every bar)


def active_vote(strategy: str, action: Action, confidence: float, reasons: Iterable[str]) -> Vote:
    """BUY or SELL with the confidence kept inside [MIN_ACTIVE_CONFIDENCE, 1]."""
    if action is Action.HOLD:
        raise ValueError("an active vote must be BUY or SELL")
    kept = clamp(confidence, MIN_ACTIVE_CONFIDENCE, 1.0)
    return Vote(strategy, action, kept, tuple(reasons))


def clamp(value: float, low: float, high: float) -> float:
    """Limit value to [low, high]; NaN becomes low."""
    if math.isnan(value):
        return low
    return min(high, max(low, value))


def ramp(value: float, start: float, full: float) -> float:
    """0 at or below start, 1 at or beyond full, linear in between."""
    if full <= start:
        return 1.0 if value >= start else 0.0
    return clamp((value - start) / (full - start), 0.0, 1.0)


def clamp_sentiment(sentiment: float | None) -> float:
    """Sentiment score limited to [-1, 1]; missing or NaN counts as neutral 0."""
    if sentiment is None or math.isnan(sentiment):
        return 0.0
    return clamp(float(sentiment), -1.0, 1.0)


def direction_of(action: Action) -> int:
    """+1 for BUY, -1 for SELL, 0 for HOLD."""
    if action is Action.BUY:
        return 1
    if action is Action.SELL:
        return -1
    return 0
