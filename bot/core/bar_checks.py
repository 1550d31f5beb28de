"""Decide whether a single bar is fit to feed the engine.

``bar_problem`` names the first thing wrong with a bar (or returns None): a non-finite or
non-positive price, broken OHLC consistency, a negative volume, a price off the tick grid. The
bad-print quarantine (``bot.core.bar_quarantine``) applies it first, live and in backtests; the
live loop logs the reason, counts the bar and skips it, so one bad bar never crashes the loop.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from shared.domain.models import Bar

PRICE_FIELDS = ("open", "high", "low", "close")
_INF = math.inf
_TICK_TOLERANCE = 1e-6  # in ticks: binary floats of exact tick multiples are far closer


def bar_problem(bar: Bar, tick_size: float = 0.25) -> str | None:
    """Return why ``bar`` is malformed, or None when it is fine."""
    if _plainly_sound(bar):  # every bar of a feed: only the tick grid is left to check
        return _tick_problem(bar, tick_size)
    return _timestamp_problem(bar) or _value_problem(bar) or _tick_problem(bar, tick_size)


def sound_ticks(bar: Bar, tick_size: float) -> tuple[int, int, int, int] | None:
    """(open, high, low, close) in whole ticks when ``bar`` is plainly sound and on the grid
    (then ``bar_problem`` is None); None when the full checks must say (the quarantine's every
    bar: the prices are divided by the tick once, for the grid check and its ticks alike)."""
    if tick_size <= 0 or not _plainly_sound(bar):
        return None
    open_, high, low, close = (bar.open / tick_size, bar.high / tick_size,
                               bar.low / tick_size, bar.close / tick_size)
    ticks = round(open_), round(high), round(low), round(close)
    if (abs(open_ - ticks[0]) > _TICK_TOLERANCE or abs(high - ticks[1]) > _TICK_TOLERANCE
            or abs(low - ticks[2]) > _TICK_TOLERANCE or abs(close - ticks[3]) > _TICK_TOLERANCE):
        return None
    return ticks


def _plainly_sound(bar: Bar) -> bool:
    """A quick test that implies no timestamp or value problem (False: run the full checks).

    A UTC ``datetime``; float prices with ``0 < low <= open, close <= high < inf`` (so all are
    positive and finite; NaN fails every comparison); a finite non-negative int or float volume.
    """
    ts, low, high, volume = bar.ts, bar.low, bar.high, bar.volume
    return (
        type(ts) is datetime and ts.tzinfo is UTC
        and type(bar.open) is float and type(high) is float and type(low) is float
        and type(bar.close) is float and (type(volume) is float or type(volume) is int)
        and 0.0 < low <= bar.open <= high < _INF and low <= bar.close <= high
        and 0 <= volume < _INF
    )


def _timestamp_problem(bar: Bar) -> str | None:
    if not isinstance(bar.ts, datetime):
        return f"timestamp {bar.ts!r} is not a datetime"
    if bar.ts.tzinfo is None or bar.ts.utcoffset() is None:
        return f"timestamp {bar.ts.isoformat()} has no timezone"
    return None


def _value_problem(bar: Bar) -> str | None:
    for name in (*PRICE_FIELDS, "volume"):
        value = getattr(bar, name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name} {value!r} is not a number"
        if not math.isfinite(value):
            return f"{name} is {value}"
    for name in PRICE_FIELDS:
        if getattr(bar, name) <= 0:
            return f"{name} {getattr(bar, name)} is not positive"
    if bar.high < bar.low:
        return f"high {bar.high} is below low {bar.low}"
    for name in ("open", "close"):
        value = getattr(bar, name)
        if not bar.low <= value <= bar.high:
            return f"{name} {value} is outside the bar's range [{bar.low}, {bar.high}]"
    if bar.volume < 0:
        return f"volume {bar.volume} is negative"
    return None


def _tick_problem(bar: Bar, tick_size: float) -> str | None:
    if tick_size <= 0:
        raise ValueError(f"tick_size must be positive, not {tick_size}")
    for name in PRICE_FIELDS:
        ticks = getattr(bar, name) / tick_size
        if abs(ticks - round(ticks)) > _TICK_TOLERANCE:
            return f"{name} {getattr(bar, name)} is not on the {tick_size} tick grid"
    return None
