"""Mean reversion: fade a close stretched past a Bollinger band once RSI is extreme and MACD turns.

"Turning" means the MACD histogram moved back toward zero on this bar, or its move away from zero
shrank below ``histogram_turn_tolerance`` of its depth (momentum fading while price still
stretches). Pure: the vote depends only on the features and the params.
"""

from __future__ import annotations

import numpy as np

from bot.core.feature_columns import RELATIVE_MARGIN, RSI_MARGIN, FeatureColumns
from shared.config.settings import MomentumReversalParams
from shared.domain.models import Action, Features, Vote

from .voting import active_vote, hold_vote, missing_features, ramp, warming_up_vote

NAME = "momentum_reversal"
INPUTS = ("rsi", "macd_hist", "macd_hist_prev", "bollinger_percent")

BASE_CONFIDENCE = 0.30
STRETCH_WEIGHT = 0.30
STRETCH_FULL_PERCENT_B = 0.15  # %B this far past the band (after the excess) is a big stretch
RSI_DEPTH_WEIGHT = 0.20
RSI_DEPTH_FULL_POINTS = 15.0
TURN_WEIGHT = 0.20


def vote(
    features: Features, params: MomentumReversalParams, sentiment: float | None = None
) -> Vote:
    """Vote against a stretched move; ``sentiment`` is accepted for symmetry and ignored."""
    missing = missing_features(features, INPUTS)
    if missing:
        return warming_up_vote(NAME, missing)
    percent_b = features.bollinger_percent
    if percent_b < -params.min_bollinger_excess:
        action, direction = Action.BUY, 1
        stretch = -params.min_bollinger_excess - percent_b
        rsi_depth = params.rsi_extreme_low - features.rsi
        band, rsi_limit = "below the lower band", f"< {params.rsi_extreme_low:g}"
    elif percent_b > 1 + params.min_bollinger_excess:
        action, direction = Action.SELL, -1
        stretch = percent_b - 1 - params.min_bollinger_excess
        rsi_depth = features.rsi - params.rsi_extreme_high
        band, rsi_limit = "above the upper band", f"> {params.rsi_extreme_high:g}"
    else:
        return hold_vote(NAME, f"%B {percent_b:.2f} not stretched past a band")
    stretched = f"%B {percent_b:.2f} {band}"
    if rsi_depth <= 0:
        return hold_vote(NAME, f"{stretched} but RSI {features.rsi:.1f} not {rsi_limit}")
    turn_score, turn_reason = _turn(features, direction, params.histogram_turn_tolerance)
    if turn_score <= 0:
        return hold_vote(NAME, f"{stretched}, RSI {features.rsi:.1f} but {turn_reason}")
    confidence = (
        BASE_CONFIDENCE
        + STRETCH_WEIGHT * ramp(stretch, 0.0, STRETCH_FULL_PERCENT_B)
        + RSI_DEPTH_WEIGHT * ramp(rsi_depth, 0.0, RSI_DEPTH_FULL_POINTS)
        + TURN_WEIGHT * turn_score
    )
    reasons = (stretched, f"RSI {features.rsi:.1f} {rsi_limit} extreme", turn_reason)
    return active_vote(NAME, action, confidence, reasons)


def may_fire(columns: FeatureColumns, params: MomentumReversalParams) -> np.ndarray:
    """Bars on which ``vote`` may say BUY or SELL: a necessary condition, vectorised.

    Stretched past a band, RSI beyond its extreme and the histogram turning (or flattening
    within the tolerance); %B and RSI limits widened by the margins of ``feature_columns``.
    """
    excess = params.min_bollinger_excess
    percent_b, rsi = columns["bollinger_percent"], columns["rsi"]
    hist, previous = columns["macd_hist"], columns["macd_hist_prev"]
    tolerance = params.histogram_turn_tolerance
    buy = (percent_b < -excess + RELATIVE_MARGIN) & (
        rsi < params.rsi_extreme_low + RSI_MARGIN) & _may_turn(hist, previous, 1, tolerance)
    sell = (percent_b > 1 + excess - RELATIVE_MARGIN) & (
        rsi > params.rsi_extreme_high - RSI_MARGIN) & _may_turn(hist, previous, -1, tolerance)
    return buy | sell


def _may_turn(
    histogram: np.ndarray, previous: np.ndarray, direction: int, tolerance: float
) -> np.ndarray:
    """The histogram turns toward ``direction`` or flattens within the tolerance (``_turn``)."""
    move = direction * (histogram - previous)
    depth = -direction * histogram
    with np.errstate(divide="ignore", invalid="ignore"):
        flattening = (depth > 0) & (tolerance > 0) & (-move / depth < tolerance + 1e-9)
    return (move > 0) | flattening


def _turn(features: Features, direction: int, tolerance: float) -> tuple[float, str]:
    """Score in [0, 1] for how clearly the histogram turns toward ``direction``, and why."""
    histogram, previous = features.macd_hist, features.macd_hist_prev
    word = "up" if direction > 0 else "down"
    change = f"{previous:.3f} -> {histogram:.3f}"
    move_our_way = direction * (histogram - previous)
    if move_our_way > 0:
        return 1.0, f"MACD histogram turned {word} ({change})"
    depth = -direction * histogram
    if depth <= 0 or tolerance <= 0:
        return 0.0, f"MACD histogram not turning {word} ({change})"
    fraction = -move_our_way / depth
    if fraction >= tolerance:
        return 0.0, f"MACD histogram still moving away {fraction:.0%} of its depth ({change})"
    reason = f"MACD histogram flattening ({change}, moved {fraction:.0%} of its depth)"
    return 1.0 - fraction / tolerance, reason
