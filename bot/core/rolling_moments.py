"""Rolling means and standard deviations of a few per-bar series, all in a handful of numpy calls.

The live features need the mean and the standard deviation of short runs of the newest values
(Bollinger: the last 20 closes; volume z-score: the 20 volumes before the newest; realised
volatility: the last 60 log returns; SMA: the last 50 closes). Each is a few numpy reductions
on a few dozen values, where numpy's ~1 us per call, not the arithmetic, is the cost: thirteen
calls a bar. ``RollingMoments`` keeps the series side by side in one ring, gathers every run
into one array (each run behind a 0.0) and reduces them together with ``np.add.reduceat``:
seven calls a bar, whatever the number of runs.

The results are the same floats as ``values.mean()`` and ``values.std(ddof)`` on each run:
``reduceat`` adds a run to its first element (here the 0.0 in front of it) by the same pairwise
summation as ``np.add.reduce``, which adds the run to its identity 0.0; the deviations are the
same subtractions and squares. The tests check every value bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NAN = float("nan")
_subtract, _multiply, _divide = np.subtract, np.multiply, np.divide
_sum_runs = np.add.reduceat


@dataclass(frozen=True, slots=True)
class Run:
    """The ``count`` values of series ``series`` that end ``skip`` bars before the newest;
    ``ddof`` the standard deviation's delta degrees of freedom."""

    series: int
    count: int
    skip: int = 0
    ddof: int = 0


class RollingMoments:
    """Per bar, one value of each series (``append``); ``moments`` gives each run's mean and
    standard deviation. A run not filled yet holds older zeros or NaNs: check the bar count."""

    __slots__ = ("_base", "_centres", "_counts", "_divisors", "_flat", "_head", "_means",
                 "_owner", "_pairs", "_period", "_run_means", "_runs", "_starts", "_stride",
                 "_values")

    def __init__(self, series: int, runs: Sequence[Run]) -> None:
        if not runs or min(run.count for run in runs) < 1:
            raise ValueError("give at least one run of at least one value")
        period = max(run.count + run.skip for run in runs)
        stride = series + 1  # a last column of zeros: every run's leading 0.0
        self._period, self._stride, self._runs = period, stride, tuple(runs)
        # Row r and r + period hold bar r (modulo period)'s values: rows head + 1 .. head +
        # period are the newest ``period`` bars, oldest first, head being the newest bar's row.
        ring = np.zeros((2 * period, stride))
        self._flat = ring.reshape(-1)
        self._pairs = ring.reshape(2, period, stride)
        self._head = period - 1
        base, owner, starts = [], [], []
        for number, run in enumerate(runs):
            starts.append(len(base))
            base.append(period * stride + series)  # a zero cell (row head + period, last column)
            owner.append(len(runs))  # the zero's centre is 0.0: it stays 0.0
            newest_row = period - run.skip
            base.extend((newest_row - run.count + 1 + back) * stride + run.series
                        for back in range(run.count))
            owner.extend([number] * run.count)
        self._base = np.array(base, dtype=np.intp)
        self._owner = np.array(owner, dtype=np.intp)
        self._starts = np.array(starts, dtype=np.intp)
        self._values = np.empty(len(base))
        self._centres = np.empty(len(base))
        self._counts = np.array([float(run.count) for run in runs])
        self._divisors = [float(run.count - run.ddof) for run in runs]
        self._means = np.zeros(len(runs) + 1)  # the last one: the zeros' centre
        self._run_means = self._means[:-1]

    def append(self, values: tuple[float, ...]) -> None:
        """The next bar's value of each series, in order."""
        head = self._head + 1 if self._head + 1 < self._period else 0
        self._pairs[:, head, :-1] = values
        self._head = head

    def moments(self) -> tuple[list[float], list[float]]:
        """Each run's mean and standard deviation, in the runs' order."""
        values, means = self._values, self._means
        # the ndarray methods: the np.take function's Python wrapper costs more than the take;
        # the indices count from the newest bar's row
        self._flat[self._stride * self._head :].take(self._base, out=values)
        _divide(_sum_runs(values, self._starts), self._counts, out=self._run_means)
        means.take(self._owner, out=self._centres)
        _subtract(values, self._centres, out=values)
        _multiply(values, values, out=values)
        squares = _sum_runs(values, self._starts)
        return (self._run_means.tolist(), [math.sqrt(square / divisor) for square, divisor
                                      in zip(squares.tolist(), self._divisors,
                                             strict=True)])
