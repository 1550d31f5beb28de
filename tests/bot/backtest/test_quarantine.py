"""The backtester's quarantine pass: exactly the live object's verdicts, bad prints dropped,
and not one bar of the three real ES files quarantined."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.backtest.data import file_data, synthetic_data
from bot.backtest.quarantine import judge, quarantine_data, quarantine_metrics
from bot.core.bar_quarantine import BAD_BAR, LEVEL_SHIFT, BarQuarantine, JumpLimits
from shared.config.settings import FeedConfig, Settings
from shared.domain.models import Bar
from tests.bot.backtest.conftest import bar_data, minute_bars

pytestmark = pytest.mark.unit

LIMITS = JumpLimits.from_config(FeedConfig(), 0.25, 60)
REAL_FILES = (("ES_1min_2025-08-31_2025-11-03_utc.csv", "UTC"),
              ("ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv", "America/New_York"),
              ("ES_5min_ib_rth_2016-09-09_2017-11-09_et.csv", "America/New_York"))


def _flat(bar: Bar, price: float) -> Bar:
    return replace(bar, open=price, high=price, low=price, close=price)


def _shifted(bar: Bar, points: float) -> Bar:
    return replace(bar, open=bar.open + points, high=bar.high + points, low=bar.low + points,
                   close=bar.close + points)


def faulty_bars(seed: int, count: int = 1500) -> list[Bar]:
    """Synthetic minute bars with bad prints, a held level shift and broken bars thrown in."""
    rng = random.Random(seed)
    bars = minute_bars(count, seed=seed % 5 + 1)
    for _ in range(6):
        i = rng.randrange(1, count - 3)
        kind = rng.choice(["high", "low", "zero", "twice", "shift", "broken", "wide", "absurd",
                           "nan"])
        if kind == "high":
            bars[i] = replace(bars[i], high=50000.0)
        elif kind == "low":
            bars[i] = replace(bars[i], low=0.25)
        elif kind == "zero":
            bars[i] = _flat(bars[i], 0.25)
        elif kind == "twice":
            bars[i], bars[i + 1] = _flat(bars[i], 0.25), _flat(bars[i + 1], 0.25)
        elif kind == "shift":  # a roll splice: everything after it 60 points higher
            bars[i:] = [_shifted(bar, 60.0) for bar in bars[i:]]
        elif kind == "absurd":
            bars[i] = replace(bars[i], high=1e300)
        elif kind == "nan":
            bars[i] = replace(bars[i], close=float("nan"))
        elif kind == "broken":
            bars[i] = replace(bars[i], high=bars[i].low - 1)
        else:
            bars[i] = replace(bars[i], high=bars[i].high + 30, low=bars[i].low - 30)
    return bars


def object_verdicts(bars: list[Bar], limits: JumpLimits) -> tuple[list[bool], list[tuple]]:
    """What the live loop's object says of each bar, run over every one of them."""
    quarantine = BarQuarantine(limits)
    accepted, events = [], []
    for bar in bars:
        verdict = quarantine.check(bar)
        accepted.append(verdict.accepted)
        if verdict.event is not None:
            events.append((bar.ts, verdict.event, verdict.message))
    return accepted, events


@pytest.mark.parametrize("seed", range(16))
def test_the_column_pass_gives_exactly_the_live_objects_verdicts(seed):
    bars = faulty_bars(seed)
    data = bar_data(bars)
    keep, events = judge(data, LIMITS)
    accepted, expected = object_verdicts(bars, LIMITS)
    assert keep.tolist() == accepted
    assert [(e.ts, e.kind, e.message) for e in events] == expected
    assert not all(accepted)  # the faults were there to be found


def test_a_bad_print_is_dropped_from_the_backtest_bars_and_reported():
    bars = minute_bars(400)
    bars[200] = _flat(bars[200], 0.25)
    bars[300] = replace(bars[300], high=50000.0)
    bars[350:] = [_shifted(bar, 80.0) for bar in bars[350:]]  # held: a level shift
    data = quarantine_data(bar_data(bars), Settings())
    assert len(data) == 400 - 4  # the two prints, the shift and the bar that held it
    assert 0.25 not in data.low and 50000.0 not in data.high
    metrics = quarantine_metrics(data)
    assert (metrics["bars_quarantined"], metrics["level_shifts"]) == (4, 1)
    assert metrics["quarantined_bars"][0]["ts"] == bars[200].ts.isoformat()
    assert metrics["quarantined_bars"][0]["reason"] == "gap"
    assert metrics["level_shift_events"][0]["points"] == pytest.approx(80.0, abs=1.0)
    assert [e.kind for e in data.quarantine] == [BAD_BAR, BAD_BAR, BAD_BAR, BAD_BAR, LEVEL_SHIFT]


def test_clean_bars_come_back_untouched():
    data = synthetic_data(20_000, 3, 60, None)
    assert quarantine_data(data, Settings()) is data


@pytest.mark.parametrize(("name", "tz"), REAL_FILES, ids=[name for name, _ in REAL_FILES])
def test_no_bar_of_the_real_es_files_is_quarantined(shared_data: Path, name: str, tz: str):
    data = file_data(shared_data / name, tz, None, 0.25)
    limits = JumpLimits.from_config(FeedConfig(), 0.25, data.bar_seconds)
    keep, events = judge(data, limits)
    assert events == [] and bool(keep.all())
    sample = slice(0, 3000)  # and the live object agrees on a stretch of each
    bars = [data.bar(i) for i in range(len(data))[sample]]
    assert all(object_verdicts(bars, limits)[0])
    assert np.array_equal(keep[sample], np.ones(len(bars), dtype=bool))
