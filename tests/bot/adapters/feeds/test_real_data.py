"""The three real ES files beside the checkout load with the row counts their README states.

They are read in place from ``../shared/data`` and never copied into the repo; the tests skip
when that folder is absent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from bot.adapters.feeds.replay import LoadedBars, iter_bar_objects, load_bars
from bot.adapters.feeds.validation import bar_problem
from tests.conftest import SHARED_DATA

DATA_DIR = SHARED_DATA

# file, timezone of its naive timestamps, bars after de-dup, duplicates, first and last bar (UTC)
REAL_FILES = [
    (
        "ES_1min_2025-08-31_2025-11-03_utc.csv",
        "UTC",
        63_599,
        0,
        datetime(2025, 8, 31, 23, 0, tzinfo=UTC),
        datetime(2025, 11, 3, 21, 59, tzinfo=UTC),
    ),
    (
        "ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv",
        "America/New_York",
        16_200,
        0,
        datetime(2023, 3, 8, 5, 0, tzinfo=UTC),  # 00:00 EST
        datetime(2023, 3, 23, 20, 59, tzinfo=UTC),  # 16:59 EDT, after the DST change
    ),
    (
        "ES_5min_ib_rth_2016-09-09_2017-11-09_et.csv",
        "US/Eastern",
        25_033 - 87,
        87,
        datetime(2016, 9, 9, 13, 30, tzinfo=UTC),  # 09:30 EDT
        datetime(2017, 11, 9, 21, 55, tzinfo=UTC),  # 16:55 EST
    ),
]


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"real bar data not present at {DATA_DIR}")
    return DATA_DIR


@pytest.fixture(scope="module")
def load(data_dir: Path):
    """``load_bars`` of a real file, parsed once for this module (the tests only read it)."""
    cache: dict[tuple[str, str], LoadedBars] = {}

    def loaded(name: str, timezone: str) -> LoadedBars:
        if (name, timezone) not in cache:
            cache[name, timezone] = load_bars(data_dir / name, timezone=timezone)
        return cache[name, timezone]

    return loaded


@pytest.mark.parametrize(
    ("name", "timezone", "bar_count", "duplicates", "first_ts", "last_ts"), REAL_FILES
)
def test_real_file_loads_with_the_readme_row_counts(
    load,
    name: str,
    timezone: str,
    bar_count: int,
    duplicates: int,
    first_ts: datetime,
    last_ts: datetime,
) -> None:
    loaded = load(name, timezone)
    assert len(loaded.bars) == bar_count
    assert loaded.duplicates_dropped == duplicates
    assert loaded.malformed_skipped == 0
    assert loaded.rows_read == bar_count + duplicates
    assert loaded.bars.index.is_monotonic_increasing and loaded.bars.index.is_unique
    assert loaded.bars.index[0] == pd.Timestamp(first_ts)
    assert loaded.bars.index[-1] == pd.Timestamp(last_ts)


def test_ib_file_duplicate_day_is_reported_at_its_readme_line(load) -> None:
    loaded = load(REAL_FILES[2][0], REAL_FILES[2][1])
    assert "line 15818: duplicate timestamp 2017-06-12 13:30:00+00:00" in loaded.problems[0]
    dates = pd.Index(loaded.bars.index.tz_convert("US/Eastern").date).unique()
    assert len(dates) == 290


def test_every_real_bar_passes_bar_validation(load) -> None:
    for name, timezone, *_ in REAL_FILES:
        loaded = load(name, timezone)
        problems = [bar_problem(bar) for bar in iter_bar_objects(loaded.bars)]
        assert [problem for problem in problems if problem] == [], name
