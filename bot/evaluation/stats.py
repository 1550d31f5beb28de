"""The evaluation harness's statistics: placebo percentile, bootstrap interval, plain verdict.

Pure functions over numbers. The bootstrap resamples *trading days* (the same days for the
layer on and off, so the market of a day is shared by both sides of the difference), seeded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HELPS_PERCENTILE = 95.0
HURTS_PERCENTILE = 5.0
DEFAULT_RESAMPLES = 2000
DEFAULT_LEVEL = 0.95


@dataclass(frozen=True, slots=True)
class Interval:
    """A bootstrap estimate and its confidence interval (the same unit as the estimate)."""

    estimate: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        """Whether the whole interval lies on one side of 0."""
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


@dataclass(frozen=True, slots=True)
class DayBootstrap:
    """The bootstrap of the on - off difference: $/trade and net P&L (dollars)."""

    per_trade_usd: Interval
    net_usd: Interval
    resamples: int
    days: int


def percentile_of(value: float, placebo: Sequence[float]) -> float:
    """Where ``value`` stands among the placebo values: the percentage below it (ties count
    half); NaN without placebo runs."""
    if not placebo:
        return math.nan
    below = sum(1 for p in placebo if p < value)
    ties = sum(1 for p in placebo if p == value)
    return 100.0 * (below + 0.5 * ties) / len(placebo)


def _per_trade(net: np.ndarray, trades: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(trades > 0, net / np.maximum(trades, 1), 0.0)


def bootstrap_difference(
    on_net_usd: Sequence[float], on_trades: Sequence[int],
    off_net_usd: Sequence[float], off_trades: Sequence[int],
    seed: int = 0, resamples: int = DEFAULT_RESAMPLES, level: float = DEFAULT_LEVEL,
) -> DayBootstrap:
    """Day-paired bootstrap of (on - off) $/trade and net P&L.

    Each sequence has one entry per trading day (the same days in the same order for on and
    off: net dollars and the number of trades that day). A resample draws days with
    replacement; the interval is the percentile interval at ``level``.
    """
    on_net, off_net = np.asarray(on_net_usd, float), np.asarray(off_net_usd, float)
    on_n, off_n = np.asarray(on_trades, float), np.asarray(off_trades, float)
    days = len(on_net)
    if not days == len(off_net) == len(on_n) == len(off_n):
        raise ValueError("on and off need one value per day, the same days")
    estimate_trade = float(_per_trade(np.float64(on_net.sum()), np.float64(on_n.sum()))
                           - _per_trade(np.float64(off_net.sum()), np.float64(off_n.sum())))
    estimate_net = float(on_net.sum() - off_net.sum())
    if days == 0:
        nan = Interval(math.nan, math.nan, math.nan)
        return DayBootstrap(nan, nan, resamples, 0)
    rng = np.random.default_rng(np.random.SeedSequence([seed, days, resamples]))
    picks = rng.integers(0, days, size=(resamples, days))
    diff_net = on_net[picks].sum(axis=1) - off_net[picks].sum(axis=1)
    diff_trade = (_per_trade(on_net[picks].sum(axis=1), on_n[picks].sum(axis=1))
                  - _per_trade(off_net[picks].sum(axis=1), off_n[picks].sum(axis=1)))
    tail = 100.0 * (1.0 - level) / 2.0
    low_t, high_t = np.percentile(diff_trade, [tail, 100.0 - tail])
    low_n, high_n = np.percentile(diff_net, [tail, 100.0 - tail])
    return DayBootstrap(Interval(estimate_trade, float(low_t), float(high_t)),
                        Interval(estimate_net, float(low_n), float(high_n)), resamples, days)


def ordinal(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 22nd ..."""
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _money(value: float) -> str:
    sign = "+" if value >= 0 else "-"
    return f"{sign}${abs(value):,.2f}"


def verdict(percentile: float, per_trade: Interval) -> str:
    """The plain verdict on a layer.

    "helps" needs both: at least the 95th percentile of the placebo (by net P&L) and a $/trade
    interval above 0; "hurts" when the interval is below 0 or the layer sits at or below the
    5th percentile; anything else is "no evidence of value".
    """
    if math.isnan(percentile) or math.isnan(per_trade.estimate):
        return "no evidence of value: nothing to compare (no trades or no placebo runs)"
    where = f"{ordinal(round(percentile))} percentile of placebo"
    figure = (f"{_money(per_trade.estimate)}/trade "
              f"[{per_trade.low:,.2f}, {per_trade.high:,.2f}]")
    if percentile >= HELPS_PERCENTILE and per_trade.low > 0:
        return f"helps: {where}, {figure}"
    if per_trade.high < 0 or percentile <= HURTS_PERCENTILE:
        return f"hurts: {where}, {figure}"
    return f"no evidence of value: {where}, {figure}"
