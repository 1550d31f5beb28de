"""Incremental live features = batch features, on every feature of every bar.

Session levels included: the live tracker's against ``session_level_columns``.

The reference is the backtester's (``feature_matrix`` columns, with RSI and ATR on each bar's own
window as ``ExactWindows`` / ``window_seeded_values`` give them): live = backtest parity rests
on it. The tolerance is zero: every value must be the same float64, bit for bit (NaN where the
reference is NaN), from the first bar on (warm-up included). Against the live window's batch
(``compute_features``) every value is bit for bit equal too except EMA and MACD, which the batch
reseeds at the window's first bar: those may differ in the last bits (1e-9 relative of the
price is far above what is seen, ~1e-13 of a MACD value).
"""

from __future__ import annotations

import math
from dataclasses import astuple, fields, replace
from operator import attrgetter
from pathlib import Path

import numpy as np
import pytest

from bot.backtest.data import BarData, file_data, synthetic_data
from bot.backtest.engine_run import session_clock
from bot.backtest.vector_features import (
    FEATURE_COLUMNS,
    ExactWindows,
    feature_matrix,
    window_seeded_values,
)
from bot.core import incremental_features
from bot.core.features import BarWindow, compute_features, wilder_atr
from bot.core.incremental_features import (
    ATR_BANK_MAX_BYTES,
    IncrementalFeatures,
    atr_bank_bytes,
    ema_seed_weight,
)
from bot.core.pairwise_sum import pairwise_sum
from bot.core.rolling_moments import RollingMoments, Run
from bot.core.running_ewm import RunningEwm, WindowAtrBank, pandas_alpha
from bot.core.session_levels import (
    LEVEL_NAMES,
    LevelRules,
    SessionLevelTracker,
    session_level_columns,
)
from shared.config.settings import FeatureConfig
from shared.domain.models import Bar, Features

CFG = FeatureConfig()
NAMES = tuple(f.name for f in fields(Features) if f.name != "ts")
VALUES = attrgetter(*NAMES)  # a Features' values in NAMES order (astuple deep-copies: slow)
SEEDED = ("rsi", "rsi_prev", "atr_points", "atr_baseline_points", "body_over_atr")
REAL_FILES = (
    ("ES_1min_2025-08-31_2025-11-03_utc.csv", "UTC"),
    ("ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv", "America/New_York"),
    ("ES_5min_ib_rth_2016-09-09_2017-11-09_et.csv", "America/New_York"),
)
RESEEDED_BY_THE_WINDOW = ("ema_fast", "ema_slow", "macd", "macd_signal", "macd_hist",
                          "macd_hist_prev")


def incremental_rows(data: BarData, cfg: FeatureConfig = CFG) -> np.ndarray:
    """Every bar's incremental features (rows in ``NAMES`` order)."""
    rules = LevelRules(cfg.opening_range_minutes, data.bar_seconds)
    state = IncrementalFeatures(cfg, SessionLevelTracker(session_clock(), rules))
    rows = np.empty((len(data), len(NAMES)))
    for index in range(len(data)):
        state.append(data.bar(index))
        rows[index] = VALUES(state.features())
    return rows


def reference_rows(data: BarData, cfg: FeatureConfig = CFG) -> np.ndarray:
    """Every bar's features as the backtester computes them for an entry decision."""
    levels = session_level_columns(data.ts_ns / 1e9, data.high, data.low, data.close,
                                   data.volume, session_clock(),
                                   LevelRules(cfg.opening_range_minutes, data.bar_seconds))
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume, cfg, levels)
    rows = np.column_stack([matrix.column(name) for name in NAMES])
    exact = ExactWindows(data.open, data.high, data.low, data.close,
                         np.arange(len(data)), cfg)
    positions = [NAMES.index(name) for name in SEEDED]
    for index in range(len(data)):
        seeded = exact.get(index)
        if seeded is None:
            start = max(0, index + 1 - cfg.window_bars)
            seeded = window_seeded_values(data.high[start : index + 1], data.low[start : index + 1],
                                          data.close[start : index + 1], float(data.open[index]),
                                          cfg)
        rows[index, positions] = seeded
    return rows


def assert_bit_equal(got: np.ndarray, expected: np.ndarray) -> None:
    """Same float64 on every bar and feature (NaN where NaN); names the first difference."""
    same = (got == expected) | (np.isnan(got) & np.isnan(expected))
    if not same.all():
        bar, column = np.argwhere(~same)[0]
        pytest.fail(f"{int((~same).sum())} values differ; first: bar {bar} {NAMES[column]} "
                    f"{got[bar, column]!r} != {expected[bar, column]!r}")


@pytest.mark.unit
def test_feature_names_follow_the_backtester_columns() -> None:
    assert NAMES == FEATURE_COLUMNS
    assert NAMES[-len(LEVEL_NAMES):] == LEVEL_NAMES  # features() passes the levels last, in order


@pytest.mark.unit
@pytest.mark.parametrize(("bars", "seed", "bar_seconds"), [(3000, 5, 5), (2000, 11, 60)])
def test_incremental_equals_the_backtester_on_the_synthetic_market(
    bars: int, seed: int, bar_seconds: int
) -> None:
    data = synthetic_data(bars, seed, bar_seconds, None)
    assert_bit_equal(incremental_rows(data), reference_rows(data))


# Every bar of 105,000 real bars through both paths takes 15-35 s on two cores: kept out of
# the unit lane (make test-fast) and run by the full suite.
@pytest.mark.integration
@pytest.mark.parametrize(("name", "tz"), REAL_FILES)
def test_incremental_equals_the_backtester_on_every_bar_of_the_real_files(
    shared_data: Path, name: str, tz: str
) -> None:
    data = file_data(shared_data / name, tz, None, 0.25)
    assert len(data) > 10_000
    assert_bit_equal(incremental_rows(data), reference_rows(data))


@pytest.mark.unit
def test_incremental_equals_the_window_batch_on_the_synthetic_market() -> None:
    data = synthetic_data(1500, 7, 5, None)
    state, window = IncrementalFeatures(CFG), BarWindow(CFG.window_bars)
    reseeded = [NAMES.index(name) for name in RESEEDED_BY_THE_WINDOW]
    for index in range(len(data)):
        bar = data.bar(index)
        state.append(bar)
        window.append(bar)
        got = np.array(VALUES(state.features()))
        expected = np.array(VALUES(compute_features(window, CFG)))
        scale = np.full(len(NAMES), 0.0)
        scale[reseeded] = 1e-9 * float(data.close[index])  # 1e-9 of the price
        close_enough = (np.abs(got - expected) <= scale) | (np.isnan(got) & np.isnan(expected))
        assert close_enough.all(), (index, [NAMES[i] for i in np.flatnonzero(~close_enough)])


@pytest.mark.unit
def test_a_restart_that_replays_the_window_continues_bit_for_bit() -> None:
    data = synthetic_data(1400, 3, 5, None)
    running = IncrementalFeatures(CFG)
    for index in range(1000):
        running.append(data.bar(index))
    restarted = IncrementalFeatures(CFG)
    for index in range(1000 - CFG.window_bars, 1000):  # the journaled window
        restarted.append(data.bar(index))
    window_based = [NAMES.index(name) for name in NAMES if name not in RESEEDED_BY_THE_WINDOW]
    for index in range(1000, 1400):
        running.append(data.bar(index))
        restarted.append(data.bar(index))
        got = np.array(VALUES(restarted.features()))
        expected = np.array(VALUES(running.features()))
        np.testing.assert_array_equal(got[window_based], expected[window_based])
        # EMA and MACD restart from the window's first bar: their seed's weight has vanished
        np.testing.assert_allclose(got, expected, rtol=1e-12)


@pytest.mark.unit
def test_a_short_window_computes_every_bar_in_batch() -> None:
    short = FeatureConfig(window_bars=60, atr_baseline_bars=20)
    assert ema_seed_weight(short) > 1e-15 >= ema_seed_weight(CFG)
    state, window = IncrementalFeatures(short), BarWindow(60)
    assert not state.incremental
    data = synthetic_data(300, 5, 5, None)
    for index in range(len(data)):
        state.append(data.bar(index))
        window.append(data.bar(index))
    assert str(state.features()) == str(compute_features(window, short))


@pytest.mark.unit
def test_a_config_whose_atr_bank_would_be_huge_computes_the_atr_on_the_window() -> None:
    huge = FeatureConfig(window_bars=5000, atr_baseline_bars=4000)
    assert atr_bank_bytes(huge) > ATR_BANK_MAX_BYTES >= atr_bank_bytes(CFG)
    state, window = IncrementalFeatures(huge), BarWindow(huge.window_bars)
    assert state.incremental
    data = synthetic_data(5100, 5, 5, None)
    for index in range(len(data)):
        state.append(data.bar(index))
        window.append(data.bar(index))
    got, expected = state.features(), compute_features(window, huge)
    for name in ("atr_points", "atr_baseline_points", "body_over_atr", "rsi", "bollinger_upper"):
        assert getattr(got, name) == getattr(expected, name), name


@pytest.mark.unit
def test_a_rejected_bar_leaves_the_state_untouched() -> None:
    data = synthetic_data(600, 5, 5, None)
    state = IncrementalFeatures(CFG)
    for index in range(len(data)):
        state.append(data.bar(index))
    before = astuple(state.features())
    last = data.bar(len(data) - 1)
    with pytest.raises(ValueError, match="not after"):
        state.append(Bar(last.ts, 5000.0, 5001.0, 4999.0, 5000.0, 10))
    with pytest.raises(ValueError, match="non-finite"):
        state.append(Bar(last.ts.replace(year=2100), math.nan, 5001.0, 4999.0, 5000.0, 10))
    after = astuple(state.features())
    assert str(after) == str(before)


@pytest.mark.unit
def test_running_ewm_is_pandas_ewm_bit_for_bit() -> None:
    import pandas as pd

    values = np.random.default_rng(1).normal(5000.0, 3.0, 2000).round(2)
    values[:30] = np.nan  # leading NaNs, as the MACD signal sees them
    values[500] = values[499]  # an unchanged value: pandas skips the update
    for span in (9, 12, 21, 26):
        expected = pd.Series(values).ewm(span=span, min_periods=span, adjust=False).mean()
        running = RunningEwm(pandas_alpha(span=span), span)
        got = np.array([running.update(float(v)) for v in values])
        np.testing.assert_array_equal(got, expected.to_numpy())


@pytest.mark.unit
def test_the_atr_bank_refuses_a_baseline_longer_than_the_window_allows_and_starts_at_nan(
) -> None:
    with pytest.raises(ValueError, match="do not fit"):
        WindowAtrBank(100, 14, 88)
    assert str(WindowAtrBank(100, 14, 87).window_values()) == "(nan, nan)"


def off_the_tick_grid(data: BarData) -> BarData:
    """The same market with prices off any binary grid (scaled by 1.0001, rounded to 1e-6):
    sums depend on their order, true ranges rarely survive the ATR update unchanged."""
    def scaled(prices: np.ndarray) -> np.ndarray:
        return np.round(prices * 1.0001, 6)
    return replace(data, open=scaled(data.open), high=scaled(data.high), low=scaled(data.low),
                   close=scaled(data.close), volume=data.volume * 1.37)


@pytest.mark.unit
def test_incremental_equals_the_backtester_off_the_tick_grid() -> None:
    data = off_the_tick_grid(synthetic_data(1500, 13, 60, None))
    assert not np.all(np.mod(data.close * 4.0, 1.0) == 0.0)
    assert_bit_equal(incremental_rows(data), reference_rows(data))


@pytest.mark.unit
def test_a_full_log_cache_starts_over_and_changes_nothing(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(incremental_features, "LOG_CACHE_PRICES", 8)
    data = synthetic_data(1200, 17, 60, None)
    assert_bit_equal(incremental_rows(data), reference_rows(data))


@pytest.mark.unit
def test_pairwise_sum_is_numpys_sum_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    for count in [*range(0, 140), 239, 240, 257, 500, 1000]:
        for _ in range(20):
            values = rng.standard_normal(count) * 10.0 ** rng.integers(-6, 7, count)
            assert pairwise_sum(values.tolist()) == float(np.add.reduce(values)), count


@pytest.mark.unit
def test_rolling_moments_are_numpys_mean_and_std_bit_for_bit() -> None:
    rng = np.random.default_rng(9)
    runs = (Run(0, 20), Run(1, 20, skip=1), Run(2, 60, ddof=1), Run(0, 50), Run(1, 1))
    moments = RollingMoments(3, runs)
    rows = rng.standard_normal((400, 3)) * (3.0, 500.0, 1e-4) + (5000.0, 2000.0, 0.0)
    for bar, row in enumerate(rows):
        moments.append((float(row[0]), float(row[1]), float(row[2])))
        if bar < 61:
            continue
        means, deviations = moments.moments()
        for run, mean, deviation in zip(runs, means, deviations, strict=True):
            values = rows[bar + 1 - run.skip - run.count : bar + 1 - run.skip, run.series]
            assert mean == values.mean(), (bar, run)
            assert deviation == values.std(ddof=run.ddof), (bar, run)


@pytest.mark.unit
def test_rolling_moments_refuse_an_empty_run() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        RollingMoments(1, (Run(0, 0),))
    with pytest.raises(ValueError, match="at least one run"):
        RollingMoments(1, ())


@pytest.mark.unit
def test_the_atr_bank_equals_the_window_atr_where_a_level_meets_the_true_range() -> None:
    # A run of bars 2.75 points high: seeds land on 2.75 exactly and pandas skips their
    # update, where (1 - a) * 2.75 + a * 2.75 is not 2.75; random bars around it.
    rng = np.random.default_rng(3)
    close = 5000.0 + np.concatenate([rng.integers(-8, 9, 150).cumsum() * 0.25,
                                     np.zeros(200), rng.integers(-8, 9, 150).cumsum() * 0.25])
    spans = np.concatenate([rng.integers(1, 20, 150) * 0.25, np.full(200, 2.75),
                            rng.integers(1, 20, 150) * 0.25])
    high, low = close + spans / 2.0, close - spans / 2.0
    window, period, baseline = 100, 14, 40
    bank = WindowAtrBank(window, period, baseline)
    for bar in range(len(close)):
        bank.update(float(high[bar]), float(low[bar]), float(close[bar]))
        start = max(0, bar + 1 - window)  # every bar so far while the window fills
        series = wilder_atr(high[start : bar + 1].copy(), low[start : bar + 1].copy(),
                            close[start : bar + 1], period)
        expected = (float(series[-1]) if len(series) else math.nan,
                    float(series[-baseline:].mean()) if len(series) >= baseline else math.nan)
        assert str(bank.window_values()) == str(expected), bar
