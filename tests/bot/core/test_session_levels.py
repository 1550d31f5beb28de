"""Session levels: equal to a hand computation on a real ES day and on made-up bars.

The hand computations read the wall clock in Chicago with pandas (trading day from 17:00 CT
the day before, RTH 08:30-15:00 CT), not the session clock the code uses. Live (the tracker)
against the backtester (the columns) is checked bit for bit on every bar of the three real
files in ``test_incremental_features.py``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bot.backtest.engine_run import session_clock
from bot.core.features import BarWindow, compute_features
from bot.core.session_levels import (
    LEVEL_NAMES,
    LevelRules,
    SessionLevelTracker,
    levels_over_atr,
    session_level_columns,
)
from shared.config.settings import FeatureConfig
from shared.domain.models import Bar
from tests.bot.core.test_incremental_features import synthetic_data

CT = "America/Chicago"
FILE_2025 = "ES_1min_2025-08-31_2025-11-03_utc.csv"


def _chicago(frame: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    """Bars starting in [start, end) Chicago wall-clock time."""
    return frame[(frame.index >= pd.Timestamp(start, tz=CT))
                 & (frame.index < pd.Timestamp(end, tz=CT))]


def _tracked(frame: pd.DataFrame, rules: LevelRules) -> pd.DataFrame:
    """The tracker's levels after each bar of ``frame``."""
    tracker = SessionLevelTracker(session_clock(), rules)
    rows = [tracker.update(ts.timestamp(), row.high, row.low, row.close, row.volume)
            for ts, row in zip(frame.index, frame.itertuples(), strict=True)]
    return pd.DataFrame(rows, index=frame.index, columns=list(LEVEL_NAMES))


@pytest.mark.unit
def test_levels_equal_a_hand_computation_on_a_real_es_day(shared_data: Path) -> None:
    bars = pd.read_csv(shared_data / FILE_2025, index_col="timestamp", parse_dates=True)
    bars.index = bars.index.tz_localize(UTC).tz_convert(CT)
    # Monday 17:00 CT (trading day Tuesday 2025-10-14) through Wednesday's session
    frame = _chicago(bars, "2025-10-13 17:00", "2025-10-15 16:00")
    got = _tracked(frame, LevelRules(opening_range_minutes=30, bar_seconds=60))

    tuesday_rth = _chicago(bars, "2025-10-14 08:30", "2025-10-14 15:00")
    overnight = _chicago(bars, "2025-10-14 17:00", "2025-10-15 08:30")
    opening = _chicago(bars, "2025-10-15 08:30", "2025-10-15 09:00")
    session = _chicago(bars, "2025-10-14 17:00", "2025-10-15 10:01")
    assert len(tuesday_rth) == 390 and len(opening) == 30 and len(overnight) > 800
    typical = (session.high + session.low + session.close) / 3
    hand_vwap = float((typical * session.volume).sum() / session.volume.sum())

    at_ten = got.loc[pd.Timestamp("2025-10-15 10:00", tz=CT)]
    assert at_ten.prior_day_high == tuesday_rth.high.max()
    assert at_ten.prior_day_low == tuesday_rth.low.min()
    assert at_ten.prior_day_close == tuesday_rth.close.iloc[-1]
    assert at_ten.overnight_high == overnight.high.max()
    assert at_ten.overnight_low == overnight.low.min()
    assert at_ten.opening_range_high == opening.high.max()
    assert at_ten.opening_range_low == opening.low.min()
    assert at_ten.session_vwap == pytest.approx(hand_vwap, rel=1e-12)
    # the range is known from the bar that closes it (08:59-09:00), not one bar earlier
    assert math.isnan(got.loc[pd.Timestamp("2025-10-15 08:58", tz=CT)].opening_range_high)
    assert got.loc[pd.Timestamp("2025-10-15 08:59", tz=CT)].opening_range_high == (
        opening.high.max())
    # before the RTH open the overnight levels run with the bars
    so_far = _chicago(bars, "2025-10-14 17:00", "2025-10-15 03:01")
    at_three = got.loc[pd.Timestamp("2025-10-15 03:00", tz=CT)]
    assert (at_three.overnight_high, at_three.overnight_low) == (so_far.high.max(),
                                                                 so_far.low.min())
    # the backtester's columns say the same
    columns = session_level_columns(
        np.asarray(frame.index.as_unit("ns").asi8 / 1e9), frame.high.to_numpy(float),
        frame.low.to_numpy(float), frame.close.to_numpy(float), frame.volume.to_numpy(float),
        session_clock(), LevelRules(30, 60))
    for name in LEVEL_NAMES:
        np.testing.assert_array_equal(columns[name], got[name].to_numpy(), err_msg=name)


def _bar(ct: str, low: float, high: float, close: float, volume: float) -> Bar:
    ts = pd.Timestamp(ct, tz=CT).tz_convert(UTC).to_pydatetime()
    return Bar(ts, close, high, low, close, volume)


@pytest.mark.unit
def test_levels_of_made_up_five_minute_bars() -> None:
    """Two trading days of 5-minute bars, each level worked out by hand."""
    rules = LevelRules(opening_range_minutes=15, bar_seconds=300)
    tracker = SessionLevelTracker(session_clock(), rules)
    day_one = [  # Tuesday 2025-03-04's RTH only (no overnight bars)
        _bar("2025-03-04 08:30", 99.0, 101.0, 100.0, 10),
        _bar("2025-03-04 08:35", 100.0, 104.0, 103.0, 30),
        _bar("2025-03-04 14:55", 95.0, 100.0, 98.0, 0),
    ]
    levels = [tracker.update(b.ts.timestamp(), b.high, b.low, b.close, b.volume)
              for b in day_one]
    assert math.isnan(levels[0][1]) and math.isnan(levels[1][1])  # 08:30-08:45 not closed
    assert levels[2][0] == (100.0 * 10 + (104.0 + 100.0 + 103.0) / 3 * 30) / 40
    assert levels[2][1:3] == (104.0, 99.0)  # known once a bar ends at or after 08:45
    assert all(math.isnan(v) for v in levels[2][3:])  # no prior day, no overnight bar
    day_two = [  # Wednesday's session: two overnight bars, then the open
        _bar("2025-03-04 17:00", 97.0, 99.0, 98.0, 0),
        _bar("2025-03-05 02:00", 96.0, 102.0, 101.0, 5),
        _bar("2025-03-05 08:40", 100.0, 106.0, 105.0, 5),
    ]
    levels = [tracker.update(b.ts.timestamp(), b.high, b.low, b.close, b.volume)
              for b in day_two]
    assert math.isnan(levels[0][0])  # no volume yet: no VWAP
    assert levels[0][3:6] == (104.0, 95.0, 98.0)  # Tuesday's RTH high, low, last close
    assert levels[0][6:] == (99.0, 97.0)
    assert levels[1][6:] == (102.0, 96.0)
    assert levels[2][0] == ((102.0 + 96.0 + 101.0) / 3 * 5 + (106.0 + 100.0 + 105.0) / 3 * 5) / 10
    assert levels[2][1:3] == (106.0, 100.0)  # the 08:40 bar closes the 15-minute range
    assert levels[2][6:] == (102.0, 96.0)  # fixed from the open on


@pytest.mark.unit
def test_relative_levels_are_distances_in_atrs() -> None:
    data = synthetic_data(400, 5, 60, None)
    columns = session_level_columns(data.ts_ns / 1e9, data.high, data.low, data.close,
                                    data.volume, session_clock(), LevelRules(30, 60))
    window, cfg = BarWindow(500), FeatureConfig()
    for index in range(len(data)):
        window.append(data.bar(index))
    levels = [float(columns[name][-1]) for name in LEVEL_NAMES]
    features = compute_features(window, cfg, levels)
    assert [getattr(features, name) for name in LEVEL_NAMES] == levels
    relative = levels_over_atr(features)
    assert relative[0] == (features.close - levels[0]) / features.atr_points
    assert all(math.isnan(v) for v in levels_over_atr(replace(features, atr_points=0.0)))


@pytest.mark.unit
def test_a_restart_replaying_the_journaled_lookback_keeps_every_level() -> None:
    from bot.core.incremental_features import IncrementalFeatures
    from bot.core.session_levels import session_tracker, warmup_bars
    from shared.config.settings import Settings

    settings = Settings().model_copy(update={"feed": Settings().feed.model_copy(
        update={"bar_seconds": 60})})
    data = synthetic_data(4200, 3, 60, None)  # about three trading days of minutes
    lookback = warmup_bars(settings)
    assert lookback == 1920 > settings.features.window_bars
    stop = 3600

    def fresh() -> IncrementalFeatures:
        return IncrementalFeatures(settings.features, session_tracker(session_clock(), settings))

    running, restarted, short = fresh(), fresh(), fresh()
    for index in range(stop):
        running.append(data.bar(index))
    list(restarted.warm_up(data.bar(i) for i in range(stop - lookback, stop)))
    list(short.warm_up(data.bar(i) for i in range(stop - 500, stop)))  # the window only
    assert len(restarted.window) == settings.features.window_bars
    short_differs = 0
    for index in range(stop, len(data)):
        for state in (running, restarted, short):
            state.append(data.bar(index))
        expected = np.array(running.levels.levels())
        np.testing.assert_array_equal(np.array(restarted.levels.levels()), expected)
        assert restarted.features().rsi == running.features().rsi
        short_differs += not np.array_equal(np.array(short.levels.levels()), expected,
                                            equal_nan=True)
    assert short_differs > 0  # the window alone is not enough
