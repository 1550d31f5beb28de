"""Features against hand-checked values on small synthetic bars, warm-up NaNs and the window."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ta.momentum import RSIIndicator
from ta.volatility import AverageTrueRange, BollingerBands

from bot.core.features import (
    BarWindow,
    bollinger_last,
    compute_features,
    ewm_tail,
    wilder_atr,
    wilder_rsi_tail,
)
from bot.core.session_levels import LEVEL_NAMES
from shared.config.settings import FeatureConfig
from shared.domain.models import Bar

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=5)
DEFAULT = FeatureConfig()


def make_bar(index: int, close: float, spread: float = 0.5, volume: float = 10.0,
             open_: float | None = None) -> Bar:
    open_price = close if open_ is None else open_
    return Bar(
        ts=T0 + timedelta(seconds=5 * index),
        open=open_price,
        high=max(open_price, close) + spread,
        low=min(open_price, close) - spread,
        close=close,
        volume=volume,
    )


def window_of(closes: list[float] | np.ndarray, volumes: list[float] | None = None) -> BarWindow:
    window = BarWindow(max(len(closes), 1))
    for index, close in enumerate(closes):
        volume = 10.0 if volumes is None else volumes[index]
        window.append(make_bar(index, float(close), volume=volume))
    return window


def random_walk_bars(count: int, seed: int = 11) -> list[Bar]:
    rng = np.random.default_rng(seed)
    bars, price = [], 5000.0
    for index in range(count):
        close = round((price + rng.normal(0, 1.5)) * 4) / 4
        high = max(price, close) + 0.25 * rng.integers(0, 6)
        low = min(price, close) - 0.25 * rng.integers(0, 6)
        bars.append(Bar(T0 + timedelta(seconds=5 * index), price, high, low, close,
                        float(rng.integers(1, 200))))
        price = close
    return bars


def test_window_holds_bars_in_order_before_it_is_full() -> None:
    window = BarWindow(10)
    for index, close in enumerate([101.0, 102.0, 103.0]):
        window.append(make_bar(index, close))
    assert len(window) == 3
    assert window.close.tolist() == [101.0, 102.0, 103.0]
    assert window.last_ts == T0 + timedelta(seconds=10)


@given(capacity=st.integers(1, 20), count=st.integers(0, 70))
def test_window_rolling_past_capacity_keeps_the_newest_bars(capacity: int, count: int) -> None:
    bars = random_walk_bars(count, seed=capacity)
    window = BarWindow(capacity)
    for bar in bars:
        window.append(bar)
    kept = bars[-capacity:] if count else []
    assert len(window) == min(count, capacity)
    assert window.open.tolist() == [bar.open for bar in kept]
    assert window.high.tolist() == [bar.high for bar in kept]
    assert window.low.tolist() == [bar.low for bar in kept]
    assert window.close.tolist() == [bar.close for bar in kept]
    assert window.volume.tolist() == [bar.volume for bar in kept]
    assert window.last_ts == (kept[-1].ts if kept else None)


def test_window_arrays_are_read_only() -> None:
    window = window_of([100.0, 101.0])
    with pytest.raises(ValueError):
        window.close[0] = 1.0


@pytest.mark.parametrize(
    "bad_bar",
    [
        Bar(T1, 100.0, float("nan"), 99.0, 100.0, 1.0),
        Bar(T1, 100.0, 101.0, 99.0, 100.0, float("inf")),
        Bar(T1, 100.0, 101.0, float("-inf"), 100.0, 1.0),
        Bar(T1, 100.0, 101.0, 99.0, 0.0, 1.0),
        Bar(T1, 100.0, 101.0, 99.0, 100.0, -1.0),
        Bar(T0 - timedelta(seconds=5), 100.0, 101.0, 99.0, 100.0, 1.0),
    ],
    ids=["nan_high", "infinite_volume", "minus_infinite_low", "zero_close", "negative_volume",
         "older_than_last"],
)
def test_window_rejects_malformed_or_out_of_order_bars(bad_bar: Bar) -> None:
    window = BarWindow(5)
    window.append(Bar(T0, 100.0, 101.0, 99.0, 100.0, 1.0))
    problem = ("not after" if bad_bar.ts <= T0
               else "non-finite" if not all(map(math.isfinite, (
                   bad_bar.open, bad_bar.high, bad_bar.low, bad_bar.close, bad_bar.volume)))
               else "non-positive price or negative volume")
    with pytest.raises(ValueError, match=problem):
        window.append(bad_bar)
    assert len(window) == 1
    assert window.close.tolist() == [100.0]


def test_window_takes_huge_finite_values_whose_sum_overflows() -> None:
    window = BarWindow(5)
    window.append(Bar(T0, 1e308, 1e308, 1e308, 1e308, 1e308))
    assert window.close.tolist() == [1e308]


def test_close_back_reads_the_closes_from_the_newest() -> None:
    window = BarWindow(3)
    for index, close in enumerate([101.0, 102.0, 103.0, 104.0]):
        window.append(make_bar(index, close))
    assert [window.close_back(back) for back in range(3)] == [104.0, 103.0, 102.0]
    with pytest.raises(IndexError, match="outside a window of 3 bars"):
        window.close_back(3)


def test_features_of_an_empty_window_raise() -> None:
    with pytest.raises(ValueError, match="empty"):
        compute_features(BarWindow(5), DEFAULT)


def test_features_carry_the_latest_bar_and_window_size() -> None:
    bars = random_walk_bars(30)
    window = BarWindow(20)
    for bar in bars:
        window.append(bar)
    features = compute_features(window, DEFAULT)
    last = bars[-1]
    assert (features.ts, features.open, features.high, features.low, features.close) == (
        last.ts, last.open, last.high, last.low, last.close
    )
    assert features.volume == last.volume
    assert features.bars_in_window == 20


def test_rsi_of_a_strictly_rising_series_is_100() -> None:
    features = compute_features(window_of(np.arange(100.0, 160.0)), DEFAULT)
    assert features.rsi == 100.0
    assert features.rsi_prev == 100.0


def test_rsi_of_a_strictly_falling_series_is_0() -> None:
    features = compute_features(window_of(np.arange(200.0, 140.0, -1.0)), DEFAULT)
    assert features.rsi == pytest.approx(0.0, abs=1e-12)


def test_rsi_of_alternating_moves_settles_around_50() -> None:
    # Wilder smoothing (alpha = 1/14) of +1/-1 steps settles at average gain 1/(2 - alpha) and
    # average loss (1 - alpha)/(2 - alpha) after an up step: RSI = 100/(2 - alpha) = 1400/27,
    # and 1300/27 after a down step; the two average exactly 50.
    closes = [100.0 + (index % 2) for index in range(500)]  # ends on an up step
    features = compute_features(window_of(closes), DEFAULT)
    assert features.rsi == pytest.approx(1400 / 27, abs=1e-9)
    assert features.rsi_prev == pytest.approx(1300 / 27, abs=1e-9)
    assert (features.rsi + features.rsi_prev) / 2 == pytest.approx(50.0, abs=1e-9)


def test_moving_averages_and_macd_of_a_linear_ramp_lag_by_their_known_amounts() -> None:
    # On a ramp of slope s an EMA of span n settles (n - 1)/2 bars behind the price, an SMA of
    # n bars (n - 1)/2 behind, so MACD(12, 26) = (12.5 - 5.5) * s = 7s, its signal too.
    slope = 0.25
    closes = 4000.0 + slope * np.arange(500)
    features = compute_features(window_of(closes), DEFAULT)
    last = closes[-1]
    assert features.ema_fast == pytest.approx(last - 4 * slope, abs=1e-9)
    assert features.ema_slow == pytest.approx(last - 10 * slope, abs=1e-9)
    assert features.sma_slow == pytest.approx(last - 24.5 * slope, abs=1e-9)
    assert features.macd == pytest.approx(7 * slope, abs=1e-9)
    assert features.macd_signal == pytest.approx(7 * slope, abs=1e-9)
    assert features.macd_hist == pytest.approx(0.0, abs=1e-9)
    assert features.macd_hist_prev == pytest.approx(0.0, abs=1e-9)


def test_ema_of_a_short_sequence_is_the_hand_computed_value() -> None:
    cfg = FeatureConfig(ema_fast=3, ema_slow=4)  # alpha 0.5, then 0.4
    features = compute_features(window_of([10.0, 20.0, 30.0, 40.0]), cfg)
    # fast: 10 -> 15 -> 22.5 -> 31.25; slow: 10 -> 14 -> 20.4 -> 28.24
    assert features.ema_fast == pytest.approx(31.25)
    assert features.ema_slow == pytest.approx(28.24)


def test_sma_is_the_mean_of_the_last_period_closes() -> None:
    features = compute_features(window_of(np.arange(1.0, 61.0)), DEFAULT)
    assert features.sma_slow == pytest.approx(35.5)  # mean of 11..60


def test_bollinger_of_a_constant_series_collapses_onto_the_price() -> None:
    features = compute_features(window_of([100.0] * 40), DEFAULT)
    assert features.bollinger_upper == features.bollinger_middle == 100.0
    assert features.bollinger_lower == 100.0
    assert features.bollinger_percent == 0.5


def test_bollinger_of_a_known_sequence() -> None:
    cfg = FeatureConfig(bollinger_period=4, bollinger_std=2.0)
    features = compute_features(window_of([9.0, 1.0, 2.0, 3.0, 4.0]), cfg)
    std = math.sqrt(1.25)  # population std of 1, 2, 3, 4
    assert features.bollinger_middle == pytest.approx(2.5)
    assert features.bollinger_upper == pytest.approx(2.5 + 2 * std)
    assert features.bollinger_lower == pytest.approx(2.5 - 2 * std)
    assert features.bollinger_percent == pytest.approx((4.0 - (2.5 - 2 * std)) / (4 * std))


def test_rate_of_change_and_momentum_over_the_period() -> None:
    closes = [90.0] * 3 + [100.0] + [105.0] * 11 + [110.0]
    features = compute_features(window_of(closes), DEFAULT)
    # period 12: the close 12 bars before the last (index 15) is the 100.0 at index 3
    assert features.rate_of_change_pct == pytest.approx(10.0)
    assert features.momentum_points == pytest.approx(10.0)


def test_volume_zscore_against_the_previous_bars() -> None:
    cfg = FeatureConfig(volume_z_period=5)
    window = window_of([100.0] * 7, volumes=[50.0, 1.0, 2.0, 3.0, 4.0, 5.0, 7.0])
    # previous five volumes 1..5: mean 3, population std sqrt(2)
    assert compute_features(window, cfg).volume_zscore == pytest.approx(4 / math.sqrt(2))


def test_volume_zscore_of_a_flat_history_is_zero() -> None:
    cfg = FeatureConfig(volume_z_period=5)
    window = window_of([100.0] * 7, volumes=[10.0] * 6 + [90.0])
    assert compute_features(window, cfg).volume_zscore == 0.0


def test_atr_and_body_over_atr_on_constructed_bars() -> None:
    window = BarWindow(40)
    for index in range(30):  # true range 4 on each: 98..102 around a 100 close
        window.append(Bar(T0 + timedelta(seconds=5 * index), 100.0, 102.0, 98.0, 100.0, 1.0))
    assert compute_features(window, DEFAULT).atr_points == pytest.approx(4.0)
    window.append(Bar(T0 + timedelta(seconds=150), 100.0, 104.0, 99.0, 103.0, 1.0))
    features = compute_features(window, DEFAULT)
    atr = (4.0 * 13 + 5.0) / 14  # last true range max(5, |104-100|, |99-100|) = 5
    assert features.atr_points == pytest.approx(atr)
    assert features.body_over_atr == pytest.approx(3.0 / atr)


def test_atr_baseline_is_the_mean_of_the_last_baseline_atrs() -> None:
    bars = random_walk_bars(300)
    window = BarWindow(300)
    for bar in bars:
        window.append(bar)
    features = compute_features(window, DEFAULT)
    reference = AverageTrueRange(
        pd.Series([b.high for b in bars]), pd.Series([b.low for b in bars]),
        pd.Series([b.close for b in bars]), window=14,
    ).average_true_range().to_numpy()
    tail = reference[-DEFAULT.atr_baseline_bars:]
    assert features.atr_baseline_points == pytest.approx(tail.mean(), abs=1e-9)
    assert features.atr_ratio == pytest.approx(reference[-1] / tail.mean())


def test_atr_matches_ta_on_the_last_bar_of_a_rolled_500_bar_window() -> None:
    bars = random_walk_bars(700)
    window = BarWindow(500)
    for bar in bars:
        window.append(bar)
    kept = bars[-500:]
    reference = AverageTrueRange(
        pd.Series([b.high for b in kept]), pd.Series([b.low for b in kept]),
        pd.Series([b.close for b in kept]), window=14,
    ).average_true_range()
    assert compute_features(window, DEFAULT).atr_points == pytest.approx(
        reference.iloc[-1], abs=1e-6
    )


@settings(max_examples=50, deadline=None)
@given(
    moves=st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=80),
    wicks=st.lists(st.floats(0, 3, allow_nan=False), min_size=80, max_size=80),
    period=st.integers(2, 20),
)
def test_wilder_atr_matches_ta_on_every_bar(
    moves: list[float], wicks: list[float], period: int
) -> None:
    close = 1000.0 + np.cumsum(moves)
    open_ = np.concatenate([[1000.0], close[:-1]])
    high = np.maximum(open_, close) + wicks[: len(close)]
    low = np.minimum(open_, close) - wicks[::-1][: len(close)]
    ours = wilder_atr(high, low, close, period)
    if len(close) < period:
        assert len(ours) == 0
        return
    reference = AverageTrueRange(
        pd.Series(high), pd.Series(low), pd.Series(close), window=period
    ).average_true_range().to_numpy()
    np.testing.assert_allclose(ours, reference[period - 1 :], rtol=0, atol=1e-9)


def test_realized_vol_is_the_sample_std_of_log_returns_in_percent() -> None:
    cfg = FeatureConfig(realized_vol_bars=6)
    closes = 100.0 * np.exp(np.cumsum([0.0] + [0.01, -0.01] * 3))
    features = compute_features(window_of(closes), cfg)
    # six returns of +-1%: mean 0, sample variance 6e-4 / 5
    assert features.realized_vol_pct == pytest.approx(math.sqrt(6e-4 / 5) * 100, rel=1e-9)


# Bars needed for a value, from each definition with the default periods.
WARM_UP_BARS = {
    "rsi": 15, "rsi_prev": 16, "macd": 26, "macd_signal": 34, "macd_hist": 34,
    "macd_hist_prev": 35, "atr_points": 14, "atr_baseline_points": 253, "ema_fast": 9,
    "ema_slow": 21, "sma_slow": 50, "bollinger_upper": 20, "bollinger_middle": 20,
    "bollinger_lower": 20, "bollinger_percent": 20, "rate_of_change_pct": 13,
    "momentum_points": 13, "volume_zscore": 21, "body_over_atr": 14, "realized_vol_pct": 61,
}


@pytest.mark.parametrize(("field", "needed"), sorted(WARM_UP_BARS.items()))
def test_each_field_is_nan_until_the_window_holds_enough_bars(field: str, needed: int) -> None:
    bars = random_walk_bars(needed)
    window = BarWindow(500)
    for bar in bars[:-1]:
        window.append(bar)
    assert math.isnan(getattr(compute_features(window, DEFAULT), field))
    window.append(bars[-1])
    assert math.isfinite(getattr(compute_features(window, DEFAULT), field))


def test_warm_up_table_covers_every_indicator_field() -> None:
    features = compute_features(window_of([100.0]), DEFAULT)
    indicator_fields = {
        name for name in features.__dataclass_fields__
        if name not in {"ts", "open", "high", "low", "close", "volume", "bars_in_window"}
        and name not in LEVEL_NAMES  # session levels depend on the clock, not the window
    }
    assert indicator_fields == set(WARM_UP_BARS)


def _random_closes(seed: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.round((5000 + np.cumsum(rng.normal(0, 1.0, count))) * 4) / 4


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numpy_rsi_matches_ta_on_the_last_two_bars(seed: int) -> None:
    close = _random_closes(seed, 500)
    expected = RSIIndicator(pd.Series(close), window=14).rsi().to_numpy()[-2:]
    np.testing.assert_allclose(wilder_rsi_tail(close, 14, 2), expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numpy_bollinger_matches_ta(seed: int) -> None:
    close = _random_closes(seed, 500)
    bands = BollingerBands(pd.Series(close), window=20, window_dev=2.0)
    expected = (
        bands.bollinger_hband().iloc[-1],
        bands.bollinger_mavg().iloc[-1],
        bands.bollinger_lband().iloc[-1],
    )
    np.testing.assert_allclose(bollinger_last(close, 20, 2.0), expected, rtol=0, atol=1e-9)


def test_ewm_tail_matches_pandas_adjust_false() -> None:
    values = _random_closes(4, 300)
    expected = pd.Series(values).ewm(alpha=0.1, adjust=False).mean().to_numpy()[-3:]
    np.testing.assert_allclose(ewm_tail(values, 0.1, 3), expected, rtol=1e-12)
