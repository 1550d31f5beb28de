"""Vectorised features equal the live rolling window's, bar by bar (as journaled)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.backtest.data import file_data
from bot.backtest.engine_run import data_levels
from bot.backtest.vector_features import (
    FEATURE_COLUMNS,
    MAX_SEED_WEIGHT,
    ExactWindows,
    RunColumn,
    atr_ratio_margin,
    feature_columns,
    feature_matrix,
    features_at,
    window_seed_weight,
    window_seeded_values,
)
from bot.core.engine import features_json
from bot.core.features import BarWindow, compute_features
from shared.config.settings import FeatureConfig, load_settings
from tests.bot.backtest.conftest import bar_data, minute_bars

CFG = FeatureConfig()


def _compare(bars) -> int:
    data = bar_data(bars)
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume, CFG)
    window = BarWindow(CFG.window_bars)
    checked = 0
    for index, bar in enumerate(bars):
        window.append(bar)
        live = compute_features(window, CFG)
        mine = features_at(matrix, index, bar.ts, data.high, data.low, data.close, CFG)
        assert features_json(mine) == features_json(live), index
        assert mine.ts == live.ts and mine.bars_in_window == live.bars_in_window
        checked += 1
    return checked


def test_features_equal_the_live_window_bit_for_bit_on_synthetic_bars():
    assert _compare(minute_bars(1100)) == 1100


def test_features_equal_the_live_window_bit_for_bit_on_real_es_bars(shared_data):
    data = file_data(shared_data / "ES_1min_2025-08-31_2025-11-03_utc.csv", "UTC", None, 0.25)
    assert _compare([data.bar(i) for i in range(1000)]) == 1000


def test_whole_history_columns_stay_within_1e_12_of_the_window_ones():
    # The ATR baseline averages ATR values closer to the window's seed: atr_ratio_margin bounds
    # it (~1e-5 with the defaults; the seed's weight is ~1e-8 and its discrepancy far below
    # the bound's 1,000).
    baseline_margin = atr_ratio_margin(CFG)
    assert baseline_margin < 1e-4
    bars = minute_bars(800)
    data = bar_data(bars)
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume, CFG)
    window = BarWindow(CFG.window_bars)
    for index, bar in enumerate(bars):
        window.append(bar)
        live = compute_features(window, CFG)
        for position, name in enumerate(FEATURE_COLUMNS):
            expected, got = float(getattr(live, name)), float(matrix[index, position])
            if math.isnan(expected):
                assert math.isnan(got), (index, name)
            elif name == "atr_baseline_points":
                assert abs(got - expected) <= baseline_margin * expected / 2, (index, name)
            else:
                assert got == pytest.approx(expected, rel=1e-12, abs=1e-12), (index, name)


def _block_equals_per_bar(data) -> int:
    indices = np.arange(len(data))
    block = ExactWindows(data.open, data.high, data.low, data.close, indices, CFG, chunk=700)
    assert block.indices == list(range(CFG.window_bars - 1, len(data)))
    for index in block.indices:
        values = block.get(index)
        start = index + 1 - CFG.window_bars
        expected = window_seeded_values(
            data.high[start : index + 1], data.low[start : index + 1],
            data.close[start : index + 1], float(data.open[index]), CFG)
        assert values == expected, index  # bit for bit (NaN never occurs in full windows)
    return len(block.indices)


def test_the_batched_window_values_equal_the_per_bar_live_ones_bit_for_bit():
    assert _block_equals_per_bar(bar_data(minute_bars(2500, seed=9))) == 2001


def test_the_batched_window_values_equal_the_live_ones_on_real_es_bars(shared_data):
    data = file_data(shared_data / "ES_5min_ib_rth_2016-09-09_2017-11-09_et.csv",
                     "America/New_York", None, 0.25)
    assert _block_equals_per_bar(data.slice(0, 2000)) == 1501


def test_short_windows_are_flagged_for_the_live_feature_path():
    assert window_seed_weight(CFG) <= MAX_SEED_WEIGHT
    assert window_seed_weight(FeatureConfig(window_bars=200, atr_baseline_bars=100)) > (
        MAX_SEED_WEIGHT)


def test_feature_matrix_of_a_short_series_is_all_warm_up():
    bars = minute_bars(5)
    data = bar_data(bars)
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume, CFG)
    assert np.isnan(matrix[:, FEATURE_COLUMNS.index("rsi")]).all()
    assert matrix[:, FEATURE_COLUMNS.index("close")].tolist() == [b.close for b in bars]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_every_column_equals_the_rows_bit_for_bit_derived_ones_included():
    # Derived columns (the bands, %B, rate of change, momentum, body/ATR, MACD signal) are
    # computed elementwise for a column and per bar for a row: both must give the same floats,
    # on a moving market and on a flat stretch (zero band width and zero ATR).
    bars = minute_bars(700)
    flat = [bar.__class__(bar.ts, 5000.0, 5000.0, 5000.0, 5000.0, 0.0) for bar in bars[:260]]
    for series in (bars, flat):
        data = bar_data(series)
        matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume, CFG)
        columns = [matrix[:, position] for position in range(len(FEATURE_COLUMNS))]
        for index in range(len(series)):
            row = matrix.row(index)
            for position, name in enumerate(FEATURE_COLUMNS):
                assert _same(row[position], float(columns[position][index])), (index, name)
    percent = FEATURE_COLUMNS.index("bollinger_percent")
    body = FEATURE_COLUMNS.index("body_over_atr")
    assert matrix.row(250)[percent] == 0.5 and matrix.row(250)[body] == 0.0


def test_a_run_column_reads_as_the_array_it_replaces_bit_for_bit():
    pick = np.random.default_rng(5)
    runs = [np.full(int(pick.integers(1, 300)), value) for value in
            (np.nan, 1.5, -0.0, 0.0, np.nan, 7.25, 7.25000001, np.inf, 2.0)] * 20
    column = np.concatenate(runs)
    held = RunColumn.of(column)
    assert isinstance(held, RunColumn)
    items = np.array([held.item(i) for i in range(len(column))])
    assert items.view(np.int64).tolist() == column.view(np.int64).tolist()
    assert held[:].view(np.int64).tolist() == column.view(np.int64).tolist()
    for begin, stop in ((0, 1), (5, 5), (17, 600), (299, 2000), (len(column) - 3, None)):
        assert (held[begin:stop].view(np.int64).tolist()
                == column[begin:stop].view(np.int64).tolist())
    assert str(held.item(int(np.flatnonzero(column == 0)[0]))) == "-0.0"  # its own sign kept
    assert not isinstance(RunColumn.of(np.arange(1000.0)), RunColumn)  # changes every bar


def test_the_level_columns_equal_the_rows_bit_for_bit():
    # Five level columns are held as runs (a few a day): their rows and columns are the
    # tracker's columns, blocks of rows included.
    settings = load_settings(None)
    data = bar_data(minute_bars(4 * 1440))
    levels = data_levels(data, settings)
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume, CFG, levels)
    held = [name for name in levels if isinstance(matrix._bars[name], RunColumn)]
    assert {"prior_day_high", "prior_day_low", "prior_day_close"} <= set(held)
    for name, values in levels.items():
        position = FEATURE_COLUMNS.index(name)
        assert matrix[:, position].view(np.int64).tolist() == values.view(np.int64).tolist()
        assert all(_same(matrix.row(i)[position], values[i]) for i in range(0, len(data), 7))
        block = feature_columns(matrix, 1000, 3000)[name]
        assert block.view(np.int64).tolist() == values[1000:3000].view(np.int64).tolist()
