"""The regime filter: may new entries be taken on this bar, why not, and its bucket labels.

`assess_regime` is a pure function of the features, the config and the session clock. Every
rule that fails adds one human-readable reason (with the numbers); no reason means tradable.
Labels (trend, volatility level, time bucket) are set whether or not the bar is tradable.
"""

from __future__ import annotations

import math
from dataclasses import fields

from bot.core.sessions import CmeSessionClock
from shared.config.settings import RegimeConfig
from shared.domain.models import Features, Regime, TimeBucket, TrendLabel, VolatilityLabel

# Volatility level labels by ATR / baseline; they bucket setups for memory, not tradability.
LOW_VOLATILITY_RATIO = 0.8
HIGH_VOLATILITY_RATIO = 1.5

_INDICATOR_FIELDS = tuple(
    field.name
    for field in fields(Features)
    if field.name not in {"ts", "open", "high", "low", "close", "volume", "bars_in_window"}
)


def trend_label(features: Features, threshold: float) -> TrendLabel:
    """Label the trend by the EMA fast - slow spread as a fraction of price."""
    spread = (features.ema_fast - features.ema_slow) / features.close
    if spread > threshold:
        return TrendLabel.TREND_UP
    if spread < -threshold:
        return TrendLabel.TREND_DOWN
    return TrendLabel.RANGE


def volatility_label(atr_ratio: float) -> VolatilityLabel:
    """Label volatility by ATR over its baseline (NaN while warming up counts as normal)."""
    if atr_ratio < LOW_VOLATILITY_RATIO:
        return VolatilityLabel.LOW
    if atr_ratio > HIGH_VOLATILITY_RATIO:
        return VolatilityLabel.HIGH
    return VolatilityLabel.NORMAL


def _volatility_reasons(features: Features, cfg: RegimeConfig) -> list[str]:
    reasons = []
    ratio = features.atr_ratio
    if math.isnan(ratio):
        reasons.append("volatility unknown: the ATR baseline is zero")
    elif ratio < cfg.min_atr_ratio:
        reasons.append(f"volatility too low: ATR ratio {ratio:.2f} < min {cfg.min_atr_ratio:.2f}")
    elif ratio > cfg.max_atr_ratio:
        reasons.append(f"volatility too high: ATR ratio {ratio:.2f} > max {cfg.max_atr_ratio:.2f}")
    atr = features.atr_points
    if atr < cfg.min_atr_points:
        reasons.append(
            f"volatility too low: ATR {atr:.2f} points < min {cfg.min_atr_points:.2f} points"
        )
    elif atr > cfg.max_atr_points:
        reasons.append(
            f"volatility too high: ATR {atr:.2f} points > max {cfg.max_atr_points:.2f} points"
        )
    return reasons


def _session_reasons(
    bucket: TimeBucket,
    minutes_to_close: float,
    cfg: RegimeConfig,
    clock: CmeSessionClock,
    features: Features,
    close_buffer_minutes: float,
) -> list[str]:
    if bucket is TimeBucket.CLOSED:
        if clock.in_maintenance_break(features.ts):
            return ["maintenance break: CME halts 16:00-17:00 CT"]
        return ["market closed"]
    reasons = []
    if bucket.value not in cfg.sessions:
        allowed = ", ".join(cfg.sessions) or "none"
        reasons.append(f"outside allowed sessions: {bucket.value} not in [{allowed}]")
    if minutes_to_close < close_buffer_minutes:
        reasons.append(
            f"too close to the close: {minutes_to_close:.1f} min left "
            f"< {close_buffer_minutes:.1f} min buffer"
        )
    return reasons


def assess_regime(
    features: Features,
    cfg: RegimeConfig,
    clock: CmeSessionClock,
    close_buffer_minutes: float,
) -> Regime:
    """Decide whether new entries are allowed on this bar, with reasons and labels."""
    missing = [name for name in _INDICATOR_FIELDS if math.isnan(getattr(features, name))]
    reasons: list[str] = []
    if missing:
        reasons.append(
            f"warming up: {features.bars_in_window} bars, no value yet for {', '.join(missing)}"
        )
    else:
        reasons.extend(_volatility_reasons(features, cfg))
    bucket = clock.time_bucket(features.ts)
    minutes_to_close = clock.minutes_to_close(features.ts)
    reasons.extend(
        _session_reasons(bucket, minutes_to_close, cfg, clock, features, close_buffer_minutes)
    )
    return Regime(
        tradable=not reasons,
        reasons=tuple(reasons),
        trend=trend_label(features, cfg.trend_threshold),
        volatility=volatility_label(features.atr_ratio),
        time_bucket=bucket,
        minutes_to_close=minutes_to_close,
    )
