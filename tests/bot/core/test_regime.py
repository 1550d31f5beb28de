"""The regime filter: each reason on both sides of its threshold, and the labels."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.regime import assess_regime
from bot.core.sessions import CmeSessionClock
from shared.config.settings import RegimeConfig
from shared.domain.models import Features, Regime, TimeBucket, TrendLabel, VolatilityLabel

CT = ZoneInfo("America/Chicago")
CFG = RegimeConfig()
BUFFER_MINUTES = 15.0


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock(start="2025-01-02", end="2026-06-30")


def ct(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CT).astimezone(UTC)


def features(**changes: object) -> Features:
    """A warmed-up, calm, trendless Monday-midday bar; override any field."""
    base = Features(
        ts=ct("2025-11-24 11:00"), open=5000.0, high=5001.0, low=4999.0, close=5000.0,
        volume=100.0, bars_in_window=500, rsi=50.0, rsi_prev=50.0, macd=0.0, macd_signal=0.0,
        macd_hist=0.0, macd_hist_prev=0.0, atr_points=2.0, atr_baseline_points=2.0,
        ema_fast=5000.0, ema_slow=5000.0, sma_slow=5000.0, bollinger_upper=5004.0,
        bollinger_middle=5000.0, bollinger_lower=4996.0, bollinger_percent=0.5,
        rate_of_change_pct=0.0, momentum_points=0.0, volume_zscore=0.0, body_over_atr=0.0,
        realized_vol_pct=0.01,
    )
    return dataclasses.replace(base, **changes)


def assess(clock: CmeSessionClock, cfg: RegimeConfig = CFG, **changes: object) -> Regime:
    return assess_regime(features(**changes), cfg, clock, BUFFER_MINUTES)


def test_a_calm_warmed_up_midday_bar_is_tradable_with_its_labels(clock: CmeSessionClock) -> None:
    regime = assess(clock)
    assert regime.tradable
    assert regime.reasons == ()
    assert regime.trend is TrendLabel.RANGE
    assert regime.volatility is VolatilityLabel.NORMAL
    assert regime.time_bucket is TimeBucket.MIDDAY
    assert regime.minutes_to_close == pytest.approx(300.0)


@pytest.mark.parametrize("field", ["atr_baseline_points", "rsi", "realized_vol_pct"])
def test_a_nan_feature_means_warming_up(clock: CmeSessionClock, field: str) -> None:
    regime = assess(clock, bars_in_window=40, **{field: float("nan")})
    assert not regime.tradable
    assert len(regime.reasons) == 1
    assert regime.reasons[0].startswith("warming up: 40 bars")
    assert field in regime.reasons[0]


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.49, "volatility too low: ATR 0.98 points is 0.49 x its baseline < min 0.50"),
        (0.51, None),
        (2.9, None),
        (3.1, "volatility too high: ATR 6.20 points is 3.10 x its baseline > max 3.00"),
    ],
)
def test_atr_ratio_limits(clock: CmeSessionClock, ratio: float, expected: str | None) -> None:
    regime = assess(clock, atr_points=2.0 * ratio)
    assert regime.reasons == ((expected,) if expected else ())
    assert regime.tradable is (expected is None)


@pytest.mark.parametrize("scale", [0.01, 0.2, 1.0, 25.0])
def test_the_limits_are_relative_so_any_bar_size_or_instrument_passes(
    clock: CmeSessionClock, scale: float
) -> None:
    # 5-second MES overnight (ATR ~0.15 points) or 1-hour ES bars (ATR ~25): only the ratio
    # to its own baseline counts.
    assert assess(clock, atr_points=2.0 * scale, atr_baseline_points=2.0 * scale).tradable
    low = assess(clock, atr_points=0.4 * scale, atr_baseline_points=2.0 * scale)
    assert low.reasons[0].startswith("volatility too low") and low.volatility is (
        VolatilityLabel.LOW)


def test_a_zero_atr_baseline_is_not_tradable(clock: CmeSessionClock) -> None:
    regime = assess(clock, atr_points=0.0, atr_baseline_points=0.0)
    assert not regime.tradable
    assert "volatility unknown: the ATR baseline is zero" in regime.reasons


def test_saturday_is_market_closed(clock: CmeSessionClock) -> None:
    regime = assess(clock, ts=ct("2025-11-22 11:00"))
    assert regime.reasons == ("market closed",)
    assert regime.time_bucket is TimeBucket.CLOSED
    assert regime.minutes_to_close == 0.0


def test_the_daily_halt_is_reported_as_the_maintenance_break(clock: CmeSessionClock) -> None:
    regime = assess(clock, ts=ct("2025-11-25 16:30"))
    assert regime.reasons == ("maintenance break: CME halts 16:00-17:00 CT",)
    assert assess(clock, ts=ct("2025-11-25 17:00")).tradable


@pytest.mark.parametrize(
    ("when", "allowed"),
    [("2025-11-24 09:00", True), ("2025-11-24 11:00", False), ("2025-11-24 03:00", False)],
)
def test_entries_only_in_the_allowed_session_buckets(
    clock: CmeSessionClock, when: str, allowed: bool
) -> None:
    cfg = RegimeConfig(sessions=["open"])
    regime = assess(clock, cfg, ts=ct(when))
    assert regime.tradable is allowed
    if not allowed:
        assert regime.reasons[0].startswith("outside allowed sessions: ")
        assert "not in [open]" in regime.reasons[0]


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        ("2025-11-24 15:40", None),
        ("2025-11-24 15:45", None),  # exactly 15 minutes left is still allowed
        ("2025-11-24 15:50", "too close to the close: 10.0 min left < 15.0 min buffer"),
        ("2025-11-28 12:05", "too close to the close: 10.0 min left < 15.0 min buffer"),
    ],
)
def test_no_entries_within_the_close_buffer(
    clock: CmeSessionClock, when: str, reason: str | None
) -> None:
    regime = assess(clock, ts=ct(when))
    assert regime.reasons == ((reason,) if reason else ())


def test_reasons_accumulate(clock: CmeSessionClock) -> None:
    regime = assess(
        clock, RegimeConfig(sessions=["open"]), ts=ct("2025-11-24 15:50"), atr_points=20.0
    )
    assert len(regime.reasons) == 3  # volatility too high, bucket, close buffer


@pytest.mark.parametrize(
    ("ema_fast", "trend"),
    [
        (5001.6, TrendLabel.TREND_UP),  # spread 1.6 points = 0.8 ATR > 0.75
        (5001.4, TrendLabel.RANGE),  # 0.7 ATR
        (4998.6, TrendLabel.RANGE),
        (4998.4, TrendLabel.TREND_DOWN),
    ],
)
def test_trend_label_by_ema_spread_in_atrs(
    clock: CmeSessionClock, ema_fast: float, trend: TrendLabel
) -> None:
    regime = assess(clock, ema_fast=ema_fast)
    assert regime.trend is trend
    assert regime.tradable  # labels never block an entry


def test_a_zero_atr_labels_no_trend(clock: CmeSessionClock) -> None:
    regime = assess(clock, atr_points=0.0, ema_fast=5001.0)
    assert regime.trend is TrendLabel.RANGE


@pytest.mark.parametrize(
    ("ratio", "label"),
    [
        (0.7, VolatilityLabel.LOW),
        (0.75, VolatilityLabel.NORMAL),
        (1.3, VolatilityLabel.NORMAL),
        (1.35, VolatilityLabel.HIGH),
    ],
)
def test_volatility_label_by_atr_ratio(
    clock: CmeSessionClock, ratio: float, label: VolatilityLabel
) -> None:
    assert assess(clock, atr_points=2.0 * ratio).volatility is label


def test_label_limits_must_nest_inside_the_refusal_limits() -> None:
    with pytest.raises(ValueError, match="min_atr_ratio <= low_volatility_ratio"):
        RegimeConfig(min_atr_ratio=0.9, low_volatility_ratio=0.8)
    with pytest.raises(ValueError, match="high_volatility_ratio <= max_atr_ratio"):
        RegimeConfig(high_volatility_ratio=3.5)


@given(
    atr=st.floats(0.001, 30.0), baseline=st.floats(0.001, 30.0),
)
def test_volatility_reasons_appear_exactly_when_a_limit_is_crossed_with_the_matching_label(
    clock: CmeSessionClock, atr: float, baseline: float
) -> None:
    regime = assess(clock, atr_points=atr, atr_baseline_points=baseline)
    ratio = atr / baseline
    too_low, too_high = ratio < CFG.min_atr_ratio, ratio > CFG.max_atr_ratio
    assert any("too low" in reason for reason in regime.reasons) is too_low
    assert any("too high" in reason for reason in regime.reasons) is too_high
    assert regime.tradable is not (too_low or too_high)
    if too_low:
        assert regime.volatility is VolatilityLabel.LOW
    if too_high:
        assert regime.volatility is VolatilityLabel.HIGH
