"""Breakout: follow a wide-bodied bar on unusual volume when the band or the EMA trend agrees.

The bar's direction comes from close versus open and its size from |body_over_atr|, so the vote
is the same whether the feature is signed or not. Pure: depends only on features and params.
"""

from __future__ import annotations

import numpy as np

from bot.core.feature_columns import RELATIVE_MARGIN, FeatureColumns
from shared.config.settings import BreakoutParams
from shared.domain.models import Action, Features, Vote

from .voting import active_vote, hold_vote, missing_features, ramp, warming_up_vote

NAME = "breakout"
INPUTS = (
    "open", "close", "body_over_atr", "volume_zscore", "bollinger_upper", "bollinger_lower",
    "ema_fast", "ema_slow",
)

BASE_CONFIDENCE = 0.20
BODY_WEIGHT = 0.30
BODY_FULL_MULTIPLE = 2.5  # a body 2.5 times the minimum counts as full strength
VOLUME_WEIGHT = 0.30
VOLUME_FULL_EXTRA_Z = 3.0  # volume z 3 above the minimum counts as full strength
BAND_WEIGHT = 0.10
TREND_WEIGHT = 0.10


def vote(features: Features, params: BreakoutParams, sentiment: float | None = None) -> Vote:
    """Vote with a strong bar on high volume; ``sentiment`` is accepted for symmetry and ignored."""
    missing = missing_features(features, INPUTS)
    if missing:
        return warming_up_vote(NAME, missing)
    body = abs(features.body_over_atr)
    if features.close > features.open:
        action, direction, word = Action.BUY, 1, "up"
    elif features.close < features.open:
        action, direction, word = Action.SELL, -1, "down"
    else:
        return hold_vote(NAME, "bar has no body (close = open)")
    bar = f"{word} bar body {body:.2f} ATR"
    if body < params.min_body_over_atr:
        return hold_vote(NAME, f"{bar} < {params.min_body_over_atr:g}")
    if features.volume_zscore < params.min_volume_zscore:
        return hold_vote(
            NAME, f"{bar} but volume z {features.volume_zscore:.2f} < {params.min_volume_zscore:g}"
        )
    beyond_band, band = _band_check(features, direction)
    ema_spread = features.ema_fast - features.ema_slow
    trend_agrees = direction * ema_spread > 0
    trend = f"EMA fast-slow {ema_spread:+.2f} {'agrees' if trend_agrees else 'disagrees'}"
    if not (beyond_band or trend_agrees):
        return hold_vote(NAME, f"{bar} on volume but unconfirmed: {band}; {trend}")
    body_score = ramp(
        body, params.min_body_over_atr, BODY_FULL_MULTIPLE * params.min_body_over_atr
    )
    volume_score = ramp(
        features.volume_zscore,
        params.min_volume_zscore,
        params.min_volume_zscore + VOLUME_FULL_EXTRA_Z,
    )
    confidence = (
        BASE_CONFIDENCE
        + BODY_WEIGHT * body_score
        + VOLUME_WEIGHT * volume_score
        + BAND_WEIGHT * beyond_band
        + TREND_WEIGHT * trend_agrees
    )
    reasons = (
        f"{bar} >= {params.min_body_over_atr:g}",
        f"volume z {features.volume_zscore:.2f} >= {params.min_volume_zscore:g}",
        band,
        trend,
    )
    return active_vote(NAME, action, confidence, reasons)


def may_fire(columns: FeatureColumns, params: BreakoutParams) -> np.ndarray:
    """Bars on which ``vote`` may say BUY or SELL: a necessary condition, vectorised.

    Mirrors the checks above (a body, the body and volume minimums, band or trend confirmation),
    with the body limit widened by ``RELATIVE_MARGIN`` (body/ATR carries ATR's last-bit noise).
    """
    close, open_ = columns["close"], columns["open"]
    direction = np.sign(close - open_)
    body = np.abs(columns["body_over_atr"])
    trend = direction * (columns["ema_fast"] - columns["ema_slow"]) > 0
    band = np.where(direction > 0, columns["bollinger_upper"], columns["bollinger_lower"])
    confirmed = trend | (direction * (close - band) > 0)
    return confirmed & (direction != 0) & (
        body >= params.min_body_over_atr * (1 - RELATIVE_MARGIN)) & (
        columns["volume_zscore"] >= params.min_volume_zscore)


def _band_check(features: Features, direction: int) -> tuple[bool, str]:
    """Whether the close is beyond the band on the breakout side, and the reason text."""
    if direction > 0:
        level, side = features.bollinger_upper, "upper"
    else:
        level, side = features.bollinger_lower, "lower"
    beyond = direction * (features.close - level) > 0
    verb = "beyond" if beyond else "inside"
    return beyond, f"close {features.close:.2f} {verb} {side} band {level:.2f}"
