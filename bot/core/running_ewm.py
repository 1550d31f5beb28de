"""Indicator recursions advanced one bar at a time, bit for bit as the batch code computes them.

``RunningEwm`` is pandas' ``ewm(adjust=False, min_periods=...).mean()`` (what ``ta``'s EMA and
MACD use) as an O(1) state. ``WindowAtrBank`` is ``bot.core.features.wilder_atr`` and its
baseline on the rolling window: the window's ATR is a Wilder recursion seeded at the window's
first bar, so every bar starts a new recursion; the bank advances all recursions of the window
at once (one numpy step over ``window - period + 1`` values), which keeps the live value equal,
bit for bit, to the window's batch computation (and to the backtester's exact windows).
"""

from __future__ import annotations

import numpy as np

from bot.core.pairwise_sum import pairwise_sum

NAN = float("nan")
_sum = np.add.reduce


def pandas_alpha(*, span: float | None = None, alpha: float | None = None) -> float:
    """The smoothing factor exactly as pandas derives it (through the centre of mass)."""
    if span is not None:
        centre_of_mass = (span - 1.0) / 2.0
    elif alpha is not None:
        centre_of_mass = (1.0 - alpha) / alpha
    else:
        raise ValueError("give span or alpha")
    return 1.0 / (1.0 + centre_of_mass)


class RunningEwm:
    """pandas ``Series.ewm(alpha, adjust=False, min_periods).mean()`` one value at a time.

    Leading NaNs are skipped (the first real value seeds the average); the value is NaN until
    ``min_periods`` real values were seen. Same float operations as pandas, in the same order:
    ``((1 - a) * y + a * x) / ((1 - a) + a)``, skipped when ``y == x``.
    """

    __slots__ = ("_alpha", "_keep", "_divisor", "_min_periods", "_count", "_value")

    def __init__(self, alpha: float, min_periods: int) -> None:
        self._alpha = alpha
        self._keep = 1.0 - alpha
        self._divisor = self._keep + alpha
        self._min_periods = min_periods
        self._count = 0
        self._value = NAN

    def update(self, value: float) -> float:
        """Take the next value; return the average (NaN while warming up)."""
        if value == value:  # a real observation (NaN is skipped, as pandas does)
            self._count += 1
            current = self._value
            if current != current:
                self._value = value
            elif current != value:
                self._value = (self._keep * current + self._alpha * value) / self._divisor
        return self._value if self._count >= self._min_periods else NAN


class WindowAtrBank:
    """ATR and its baseline on the last ``window`` bars, as ``wilder_atr`` on that window.

    The window ending at bar t seeds its ATR at bar t - window + period (the mean of ``period``
    true ranges, the window's first one being its bar's high - low) and smooths it over the
    ``window - period`` bars after; its baseline is the mean of the last ``baseline`` values of
    that same recursion. The bank holds the ``window - period + 1`` recursions alive at once in
    a ring, and the last ``baseline`` values of each. While fewer than ``window`` bars came,
    the window is every bar so far: its recursion is the one seeded at bar ``period - 1``.
    """

    def __init__(self, window: int, period: int, baseline: int) -> None:
        if baseline > window - period + 1:
            raise ValueError(f"baseline {baseline} bars do not fit a {window}-bar window with "
                             f"ATR period {period}")
        self._window, self._period, self._baseline = window, period, baseline
        self._slots = window - period + 1  # recursions alive: ages 0 .. window - period
        alpha = pandas_alpha(alpha=1.0 / period)
        self._alpha, self._keep = alpha, 1.0 - alpha
        self._divisor = self._keep + alpha
        self._levels = np.full(self._slots, NAN)
        # Row r (and r + baseline) holds every recursion's value at the bars whose number is r
        # modulo ``baseline``: rows c + 1 .. c + baseline of a column are then its last
        # ``baseline`` values, oldest first, c being the newest bar's row.
        self._history = np.full((2 * baseline, self._slots), NAN)
        self._rows = self._history.reshape(2, baseline, self._slots)
        self._ranges: list[float] = []  # the last ``period`` true ranges
        self._spans: list[float] = []  # the last ``period`` bars' high - low
        self._previous_close = NAN
        self._bars = 0
        self._scratch = np.empty(self._slots)
        self._changed = np.empty(self._slots, dtype=bool)

    def update(self, high: float, low: float, close: float) -> None:
        """Advance every recursion by one bar and start the one seeded at this bar."""
        span = high - low
        previous = self._previous_close
        true_range = span if previous != previous else max(
            span, max(abs(high - previous), abs(low - previous)))
        self._previous_close = close
        bar = self._bars
        self._bars += 1
        self._ranges.append(true_range)
        self._spans.append(span)
        if len(self._ranges) > self._period:
            del self._ranges[0], self._spans[0]
        levels = self._levels
        step = self._alpha * true_range
        # level = ((1 - a) * level + a * tr) / ((1 - a) + a) where level != tr, as pandas.
        # Dividing by a divisor of exactly 1.0 (the usual case) is the identity, so it is left
        # out; and when a level equal to tr would come out of the formula unchanged anyway
        # (tr = 0.25 does, for instance), the skip changes nothing and needs no mask.
        if self._divisor == 1.0 and self._keep * true_range + step == true_range:
            levels *= self._keep
            levels += step
        else:
            scratch, changed = self._scratch, self._changed
            np.not_equal(levels, true_range, out=changed)
            np.multiply(levels, self._keep, out=scratch)
            if self._divisor == 1.0:
                np.add(scratch, step, out=levels, where=changed)
            else:
                scratch += step
                np.divide(scratch, self._divisor, out=levels, where=changed)
        if bar >= self._period - 1:
            seed = self._ranges.copy()
            seed[0] = self._spans[0]
            levels[bar % self._slots] = pairwise_sum(seed) / self._period
        self._rows[:, bar % self._baseline] = levels  # rows r and r + baseline at once

    @property
    def bars(self) -> int:
        """Bars seen so far."""
        return self._bars

    def window_values(self) -> tuple[float, float]:
        """ATR points and baseline of the window ending at the newest bar (every bar so far
        while fewer than ``window``): NaN while the window holds too few bars for them."""
        seed_bar = max(self._bars - self._window, 0) + self._period - 1  # the window's seed
        values = self._bars - seed_bar  # the window's ATR values: its recursion's age + 1
        if values <= 0:
            return NAN, NAN
        slot = seed_bar % self._slots
        atr = float(self._levels[slot])
        if values < self._baseline:
            return atr, NAN
        first = (self._bars - 1) % self._baseline + 1
        # numpy sums a strided column in the same order as a contiguous copy of it
        return atr, float(_sum(self._history[first : first + self._baseline, slot])) \
            / self._baseline
