"""The regime filter: may new entries be taken on this bar, why not, and its bucket labels.

`assess_regime` is a pure function of the features, the config and the session clock. Every
rule that fails adds one human-readable reason (with the numbers); no reason means tradable.
Labels (trend, volatility level, time bucket) are set whether or not the bar is tradable.
Everything is relative: volatility is ATR over its own baseline and the trend is the EMA spread
in ATRs, so the same config holds for 5-second and 1-minute bars, MES and ES. The volatility
label and the volatility refusal read the same ratio with nested limits (min <= low < high <=
max), so "volatility too low" always comes with the label "low".

`may_allow` is the filter's vectorised necessary condition for the backtester: True on every
bar whose features could pass (the session rules aside), computed from whole-history feature
columns.
"""

from __future__ import annotations

import math
from dataclasses import fields
from operator import attrgetter

import numpy as np

from bot.core.feature_columns import RELATIVE_MARGIN, FeatureColumns
from bot.core.session_levels import LEVEL_NAMES
from bot.core.sessions import CmeSessionClock
from shared.config.settings import RegimeConfig
from shared.domain.models import Features, Regime, TimeBucket, TrendLabel, VolatilityLabel

INDICATOR_FIELDS = tuple(
    field.name
    for field in fields(Features)
    if field.name not in {"ts", "open", "high", "low", "close", "volume", "bars_in_window"}
    and field.name not in LEVEL_NAMES  # session levels may be unknown (no prior day yet)
)
_INDICATOR_VALUES = attrgetter(*INDICATOR_FIELDS)  # one C call for all of them, every bar
_BUCKET_TEXT = {bucket: bucket.value for bucket in TimeBucket}  # no enum descriptor a bar


def trend_spread_atr(features: Features) -> float:
    """EMA fast - slow, in ATRs (0 when the ATR is zero: a flat market has no trend)."""
    if not features.atr_points:
        return 0.0
    return (features.ema_fast - features.ema_slow) / features.atr_points


def trend_label(features: Features, cfg: RegimeConfig) -> TrendLabel:
    """Label the trend by the EMA fast - slow spread measured in ATRs."""
    spread = trend_spread_atr(features)
    if spread > cfg.trend_spread_atr:
        return TrendLabel.TREND_UP
    if spread < -cfg.trend_spread_atr:
        return TrendLabel.TREND_DOWN
    return TrendLabel.RANGE


def volatility_label(atr_ratio: float, cfg: RegimeConfig) -> VolatilityLabel:
    """Label volatility by ATR over its baseline (NaN while warming up counts as normal)."""
    if atr_ratio < cfg.low_volatility_ratio:
        return VolatilityLabel.LOW
    if atr_ratio > cfg.high_volatility_ratio:
        return VolatilityLabel.HIGH
    return VolatilityLabel.NORMAL


def _volatility_reasons(features: Features, cfg: RegimeConfig, ratio: float) -> list[str]:
    """The volatility refusal, if any (``ratio``: the features' ``atr_ratio``)."""
    if math.isnan(ratio):
        return ["volatility unknown: the ATR baseline is zero"]
    if ratio < cfg.min_atr_ratio:
        return [f"volatility too low: ATR {features.atr_points:.2f} points is {ratio:.2f} x its "
                f"baseline < min {cfg.min_atr_ratio:.2f}"]
    if ratio > cfg.max_atr_ratio:
        return [f"volatility too high: ATR {features.atr_points:.2f} points is {ratio:.2f} x its "
                f"baseline > max {cfg.max_atr_ratio:.2f}"]
    return []


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
    if _BUCKET_TEXT[bucket] not in cfg.sessions:
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
    values = _INDICATOR_VALUES(features)
    missing = ([name for name, value in zip(INDICATOR_FIELDS, values, strict=True)
                if math.isnan(value)] if any(map(math.isnan, values)) else [])
    ratio = features.atr_ratio  # a property: worked out once, read by both checks below
    reasons: list[str] = []
    if missing:
        reasons.append(
            f"warming up: {features.bars_in_window} bars, no value yet for {', '.join(missing)}"
        )
    else:
        reasons.extend(_volatility_reasons(features, cfg, ratio))
    bucket = clock.time_bucket(features.ts)
    minutes_to_close = clock.minutes_to_close(features.ts)
    reasons.extend(
        _session_reasons(bucket, minutes_to_close, cfg, clock, features, close_buffer_minutes)
    )
    return Regime(
        tradable=not reasons,
        reasons=tuple(reasons),
        trend=trend_label(features, cfg),
        volatility=volatility_label(ratio, cfg),
        time_bucket=bucket,
        minutes_to_close=minutes_to_close,
    )


def may_allow(
    columns: FeatureColumns, cfg: RegimeConfig, ratio_margin: float = RELATIVE_MARGIN
) -> np.ndarray:
    """Bars whose indicators are warm and whose ATR ratio may pass (sessions not checked).

    A necessary condition of ``assess_regime(...).tradable``. The limits are widened by
    ``ratio_margin``: how far, relatively, the columns' ATR / baseline may sit from the live
    window's (``bot.backtest.vector_features.atr_ratio_margin``).
    """
    warm = np.ones(len(columns["close"]), dtype=bool)
    for name in INDICATOR_FIELDS:  # a column at a time: no stack of masks (20 MB per 1M bars)
        warm &= ~np.isnan(columns[name])
    atr, baseline = columns["atr_points"], columns["atr_baseline_points"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = atr / baseline
    return warm & (baseline != 0) & (ratio >= cfg.min_atr_ratio * (1 - ratio_margin)) & (
        ratio <= cfg.max_atr_ratio * (1 + ratio_margin))
