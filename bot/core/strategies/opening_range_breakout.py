"""Opening-range breakout: follow the bar that closes out of the RTH opening range, with VWAP.

The opening range is the high and low of the first ``features.opening_range_minutes`` of RTH
(``bot.core.session_levels``); it is known from the bar that closes it until the day ends. A
bar that opens inside (or at) the range and closes beyond it by at least
``min_break_over_atr`` ATRs votes in the break's direction, when the close is on the same side
of the session VWAP (``vwap_confirms``). Only the crossing bar fires, so a day gives at most a
few signals. Pure: depends only on features and params. Not in the default ensemble.
"""

from __future__ import annotations

import numpy as np

from bot.core.feature_columns import RELATIVE_MARGIN, FeatureColumns
from shared.config.settings import OpeningRangeBreakoutParams
from shared.domain.models import Action, Features, Vote

from .voting import active_vote, hold_vote, missing_features, ramp, warming_up_vote

NAME = "opening_range_breakout"
INPUTS = ("open", "close", "atr_points", "opening_range_high", "opening_range_low",
          "session_vwap")

BASE_CONFIDENCE = 0.55
BREAK_WEIGHT = 0.30
BREAK_FULL_MULTIPLE = 4.0  # a break 4 times the minimum counts as full strength
VWAP_WEIGHT = 0.15


def vote(features: Features, params: OpeningRangeBreakoutParams,
         sentiment: float | None = None) -> Vote:
    """Vote with a close out of the opening range; ``sentiment`` is accepted and ignored."""
    missing = missing_features(features, INPUTS)
    if missing:
        return warming_up_vote(NAME, missing)
    atr = features.atr_points
    if atr <= 0.0:
        return hold_vote(NAME, "ATR is 0: no break can be measured")
    high, low = features.opening_range_high, features.opening_range_low
    close, open_ = features.close, features.open
    if open_ <= high < close:
        action, direction, level, side = Action.BUY, 1, high, "above the range high"
    elif open_ >= low > close:
        action, direction, level, side = Action.SELL, -1, low, "below the range low"
    else:
        return hold_vote(NAME, f"no close out of the opening range {low:.2f}-{high:.2f}")
    break_atr = direction * (close - level) / atr
    crossed = f"close {close:.2f} {side} {level:.2f} by {break_atr:.2f} ATR"
    if break_atr < params.min_break_over_atr:
        return hold_vote(NAME, f"{crossed} < {params.min_break_over_atr:g}")
    vwap = features.session_vwap
    vwap_agrees = direction * (close - vwap) > 0
    vwap_text = f"VWAP {vwap:.2f} {'agrees' if vwap_agrees else 'disagrees'}"
    if params.vwap_confirms and not vwap_agrees:
        return hold_vote(NAME, f"{crossed}; {vwap_text}")
    strength = ramp(break_atr, params.min_break_over_atr,
                    BREAK_FULL_MULTIPLE * params.min_break_over_atr)
    confidence = BASE_CONFIDENCE + BREAK_WEIGHT * strength + VWAP_WEIGHT * vwap_agrees
    return active_vote(NAME, action, confidence,
                       (f"{crossed} >= {params.min_break_over_atr:g}", vwap_text))


def may_fire(columns: FeatureColumns, params: OpeningRangeBreakoutParams) -> np.ndarray:
    """Bars on which ``vote`` may say BUY or SELL: a necessary condition, vectorised.

    Mirrors the checks above, with the break limit widened by ``RELATIVE_MARGIN`` (the ATR
    carries its last-bit noise).
    """
    close, open_, atr = columns["close"], columns["open"], columns["atr_points"]
    high, low, vwap = (columns["opening_range_high"], columns["opening_range_low"],
                       columns["session_vwap"])
    limit = params.min_break_over_atr * atr * (1 - RELATIVE_MARGIN)
    up = (open_ <= high) & (high < close) & (close - high >= limit)
    down = (open_ >= low) & (low > close) & (low - close >= limit)
    if params.vwap_confirms:
        up &= close > vwap
        down &= close < vwap
    return (up | down) & (atr > 0.0)
