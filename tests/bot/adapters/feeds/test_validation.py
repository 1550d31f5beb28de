"""bar_problem: one reason per malformed bar, None for a good one."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.adapters.feeds.validation import bar_problem
from bot.core import bar_checks
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


def full_checks(bar: Bar, tick_size: float = 0.25) -> str | None:
    """Every check in order, without the quick path for plainly sound bars."""
    return (bar_checks._timestamp_problem(bar) or bar_checks._value_problem(bar)
            or bar_checks._tick_problem(bar, tick_size))


ODD = (4750.0, 4751.25, 4749.5, 4751.0, 4750.1, 0.0, -0.0, -1.0, 1e-300, 1e300, float("nan"),
       float("inf"), float("-inf"), 4750, True, 7, 0, -3)


def test_the_quick_path_answers_as_the_full_checks() -> None:
    """bar_problem's quick path for plainly sound bars gives the full checks' answer on good
    bars and on odd values in every field (types, zero, signs, NaN, infinities, ints, bools)."""
    stamps = (GOOD.ts, GOOD.ts.astimezone(timezone(timedelta(hours=-5))),
              datetime(2024, 1, 2, 14, 30))
    checked = 0
    for ts, field in itertools.product(stamps, ("open", "high", "low", "close", "volume")):
        for value in ODD:
            bar = dataclasses.replace(GOOD, ts=ts, **{field: value})
            for tick_size in (0.25, 0.5):
                assert bar_problem(bar, tick_size) == full_checks(bar, tick_size), (field, value)
                checked += 1
    for low, open_, close, high in itertools.product((4749.5, 4750.0, 4751.25), repeat=4):
        bar = Bar(GOOD.ts, open_, high, low, close, 0.0)
        assert bar_problem(bar) == full_checks(bar)
        checked += 1
    assert checked > 500
