"""Momentum alignment: vote with a fresh MACD histogram cross that RSI and the MACD line confirm.

Pure: the vote depends only on the features, the params and the optional sentiment score.
Sentiment moves confidence by at most ``params.sentiment_weight`` and never changes the action.
"""

from __future__ import annotations

import numpy as np

from bot.core.feature_columns import RSI_MARGIN, FeatureColumns
from shared.config.settings import RsiMacdParams
from shared.domain.models import Action, Features, Vote

from .voting import (
    active_vote,
    clamp_sentiment,
    direction_of,
    hold_vote,
    missing_features,
    ramp,
    warming_up_vote,
)

NAME = "rsi_macd"
INPUTS = (
    "rsi", "rsi_prev", "macd", "macd_hist", "macd_hist_prev", "atr_points", "ema_fast", "ema_slow"
)

BASE_CONFIDENCE = 0.25
HISTOGRAM_WEIGHT = 0.30
HISTOGRAM_FULL_ATR = 0.15  # histogram of 0.15 ATR right after the cross counts as strong
MACD_LINE_WEIGHT = 0.30
MACD_LINE_FULL_ATR = 1.5
RSI_RISING_WEIGHT = 0.05
EMA_TREND_WEIGHT = 0.10


def vote(features: Features, params: RsiMacdParams, sentiment: float | None = None) -> Vote:
    """Vote BUY/SELL on a MACD histogram zero cross aligned with RSI and the MACD line."""
    missing = missing_features(features, INPUTS)
    if missing:
        return warming_up_vote(NAME, missing)
    action, trigger = _trigger(features, params)
    if action is Action.HOLD:
        return hold_vote(NAME, trigger)
    direction = direction_of(action)
    atr = max(features.atr_points, 1e-9)
    histogram_atr = direction * features.macd_hist / atr
    macd_line_atr = direction * features.macd / atr
    rsi_agrees = direction * (features.rsi - features.rsi_prev) > 0
    ema_agrees = direction * (features.ema_fast - features.ema_slow) > 0
    confidence = (
        BASE_CONFIDENCE
        + HISTOGRAM_WEIGHT * ramp(histogram_atr, 0.0, HISTOGRAM_FULL_ATR)
        + MACD_LINE_WEIGHT * ramp(macd_line_atr, 0.0, MACD_LINE_FULL_ATR)
        + RSI_RISING_WEIGHT * rsi_agrees
        + EMA_TREND_WEIGHT * ema_agrees
    )
    reasons = [
        trigger,
        f"strength: histogram {histogram_atr:.3f} x ATR, MACD line {macd_line_atr:.2f} x ATR",
        f"RSI {'moving with us' if rsi_agrees else 'lagging'} ({features.rsi_prev:.1f} -> "
        f"{features.rsi:.1f})",
        f"EMA fast {'agrees' if ema_agrees else 'disagrees'} "
        f"({features.ema_fast - features.ema_slow:+.2f} vs slow)",
    ]
    score = clamp_sentiment(sentiment)
    if score:
        nudge = params.sentiment_weight * score * direction
        confidence += nudge
        reasons.append(f"sentiment {score:+.2f} moves confidence {nudge:+.2f}")
    return active_vote(NAME, action, confidence, reasons)


def may_fire(columns: FeatureColumns, params: RsiMacdParams) -> np.ndarray:
    """Bars on which ``vote`` may say BUY or SELL: a necessary condition, vectorised.

    The trigger of ``_trigger``: a histogram zero cross, RSI inside its band (widened by
    ``RSI_MARGIN``) and the MACD line on the cross's side.
    """
    histogram, previous = columns["macd_hist"], columns["macd_hist_prev"]
    rsi, macd = columns["rsi"], columns["macd"]
    midline = (params.oversold + params.overbought) / 2
    buy = (previous <= 0) & (histogram > 0) & (macd > 0) & (rsi > midline - RSI_MARGIN) & (
        rsi < params.overbought + RSI_MARGIN)
    sell = (previous >= 0) & (histogram < 0) & (macd < 0) & (
        rsi > params.oversold - RSI_MARGIN) & (rsi < midline + RSI_MARGIN)
    return buy | sell


def _trigger(features: Features, params: RsiMacdParams) -> tuple[Action, str]:
    midline = (params.oversold + params.overbought) / 2
    histogram, previous, rsi = features.macd_hist, features.macd_hist_prev, features.rsi
    if previous <= 0 < histogram:
        action, word, low, high = Action.BUY, "up", midline, params.overbought
    elif previous >= 0 > histogram:
        action, word, low, high = Action.SELL, "down", params.oversold, midline
    else:
        return Action.HOLD, f"no MACD histogram zero cross ({previous:.3f} -> {histogram:.3f})"
    cross = f"MACD histogram crossed {word} ({previous:.3f} -> {histogram:.3f})"
    if not low < rsi < high:
        return Action.HOLD, f"{cross} but RSI {rsi:.1f} outside {low:g}-{high:g}"
    if direction_of(action) * features.macd <= 0:
        return Action.HOLD, f"{cross} but MACD line {features.macd:.3f} is against it"
    mood = "bullish" if action is Action.BUY else "bearish"
    return action, f"{cross}, RSI {rsi:.1f} {mood} within {low:g}-{high:g}"
