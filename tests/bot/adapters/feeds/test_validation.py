"""bar_problem: one reason per malformed bar, None for a good one."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.adapters.feeds.validation import bar_problem
from shared.domain.models import Bar

GOOD = Bar(datetime(2024, 1, 2, 14, 30, tzinfo=UTC), 4750.0, 4751.25, 4749.5, 4751.0, 120.0)


def test_good_bar_has_no_problem() -> None:
    assert bar_problem(GOOD) is None


def test_zero_volume_and_flat_bar_are_fine() -> None:
    flat = dataclasses.replace(GOOD, open=4750.0, high=4750.0, low=4750.0, close=4750.0, volume=0)
    assert bar_problem(flat) is None


def test_aware_non_utc_timestamp_is_accepted() -> None:
    eastern = GOOD.ts.astimezone(timezone(timedelta(hours=-5)))
    assert bar_problem(dataclasses.replace(GOOD, ts=eastern)) is None


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ts": datetime(2024, 1, 2, 14, 30)}, "has no timezone"),
        ({"ts": "2024-01-02"}, "is not a datetime"),
        ({"close": float("nan")}, "close is nan"),
        ({"high": float("inf")}, "high is inf"),
        ({"volume": float("nan")}, "volume is nan"),
        ({"open": "4750"}, "open '4750' is not a number"),
        ({"low": -1.0, "open": 0.0, "close": 0.0}, "not positive"),
        ({"high": 4749.0}, "high 4749.0 is below low 4749.5"),
        ({"open": 4752.0}, "open 4752.0 is outside"),
        ({"close": 4749.0}, "close 4749.0 is outside"),
        ({"volume": -3.0}, "volume -3.0 is negative"),
        ({"close": 4750.1}, "close 4750.1 is not on the 0.25 tick grid"),
    ],
)
def test_malformed_bar_is_named(changes: dict[str, object], expected: str) -> None:
    problem = bar_problem(dataclasses.replace(GOOD, **changes))
    assert problem is not None
    assert expected in problem


def test_tick_size_is_a_parameter() -> None:
    half_point = dataclasses.replace(GOOD, high=4751.5, low=4749.5, open=4750.0, close=4751.0)
    assert bar_problem(half_point, tick_size=0.5) is None
    assert "0.5 tick grid" in (bar_problem(GOOD, tick_size=0.5) or "")
