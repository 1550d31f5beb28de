"""``sound_ticks``: the quarantine's one-pass check agrees with ``bar_problem`` and its ticks."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.bar_checks import bar_problem, sound_ticks
from shared.domain.models import Bar

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def _bars() -> list[Bar]:
    good = Bar(T0, 5000.25, 5001.0, 4999.5, 5000.75, 120.0)
    chicago = timezone(timedelta(hours=-6))
    return [
        good,
        Bar(T0, 5000.25, 5001.0, 4999.5, 5000.75, 120),  # an int volume
        Bar(T0, 0.25, 0.25, 0.25, 0.25, 0.0),  # the smallest price, no volume
        Bar(T0, 5000.3, 5001.0, 4999.5, 5000.75, 1.0),  # open off the grid
        Bar(T0, 5000.25, 5001.1, 4999.5, 5000.75, 1.0),  # high off the grid
        Bar(T0, 5000.25, 5001.0, 4999.55, 5000.75, 1.0),  # low off the grid
        Bar(T0, 5000.25, 5001.0, 4999.5, 5000.7, 1.0),  # close off the grid
        Bar(T0, 5000.25 + 1e-9, 5001.0, 4999.5, 5000.75, 1.0),  # within the grid's tolerance
        Bar(T0.astimezone(chicago), 5000.25, 5001.0, 4999.5, 5000.75, 1.0),  # another zone
        Bar(T0.replace(tzinfo=None), 5000.25, 5001.0, 4999.5, 5000.75, 1.0),  # naive
        Bar(T0, math.nan, 5001.0, 4999.5, 5000.75, 1.0),
        Bar(T0, 5000.25, math.inf, 4999.5, 5000.75, 1.0),
        Bar(T0, 5002.0, 5001.0, 4999.5, 5000.75, 1.0),  # open above the high
        Bar(T0, 5000.25, 5001.0, 4999.5, 5000.75, -1.0),  # negative volume
        Bar(T0, 0.0, 0.0, 0.0, 0.0, 1.0),  # zero prices
        Bar(T0, 5000, 5001, 4999, 5000, 1),  # int prices: the full checks decide
    ]


@pytest.mark.parametrize("bar", _bars())
@pytest.mark.parametrize("tick_size", [0.25, 0.1, 1.0])
def test_sound_ticks_agrees_with_bar_problem(bar: Bar, tick_size: float) -> None:
    ticks = sound_ticks(bar, tick_size)
    if ticks is not None:  # sound: no problem, and the same ticks the quarantine rounds to
        assert bar_problem(bar, tick_size) is None
        assert ticks == tuple(round(p / tick_size) for p in (bar.open, bar.high, bar.low,
                                                              bar.close))


def test_sound_ticks_takes_the_plain_feed_bar_and_leaves_the_rest() -> None:
    bars = _bars()
    assert sound_ticks(bars[0], 0.25) == (20001, 20004, 19998, 20003)
    assert sound_ticks(bars[2], 0.25) == (1, 1, 1, 1)
    assert [sound_ticks(bar, 0.25) for bar in bars[3:7]] == [None] * 4
    assert sound_ticks(bars[7], 0.25) == (20001, 20004, 19998, 20003)
    assert all(sound_ticks(bar, 0.25) is None for bar in bars[8:])
    assert sound_ticks(bars[0], 0.0) is None  # the full check raises for it, as before
